package redact

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
)

// Redacted replaces every secret that Text and JSON remove.
const Redacted = "[REDACTED]"

// tokenPatterns match credentials by their shape alone, wherever they occur.
// Each has a cheap literal prefilter so that ordinary text (most of what the
// run log stores) is not run through the regexp at all.
var tokenPatterns = []struct {
	hints []string // lower-case substrings, one of which every match contains
	re    *regexp.Regexp
	repl  string
}{
	// PEM private keys and PGP private key blocks, also when cut short (no
	// END line) and when the newlines are JSON escapes.
	{[]string{"private key"}, regexp.MustCompile(`-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)`), "[REDACTED PRIVATE KEY]"},
	// Authorization schemes.
	{[]string{"bearer"}, regexp.MustCompile(`(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*`), "${1} " + Redacted},
	// Any other scheme (SharedKey, AWS4-HMAC-SHA256, ...): the whole
	// credential, to the end of the header.
	{[]string{"authorization"}, regexp.MustCompile(`(?i)(\bauthorization\\?["']?[ \t]*[:=][ \t]*\\?["']?[A-Za-z][A-Za-z0-9\-]*)[ \t]+[^\r\n"'\\]*[^\s"'\\]`), "${1} " + Redacted},
	{[]string{"basic"}, regexp.MustCompile(`(?i)\b(basic)\s+[A-Za-z0-9+/]{8,}=*`), "${1} " + Redacted},
	// Credentials inside URLs: scheme://user:password@host (a password
	// may hold '/'), and a token as the user name: scheme://token@host.
	{[]string{"://"}, regexp.MustCompile(`\b([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@"']+):[^\s@"']+@`), "${1}:" + Redacted + "@"},
	{[]string{"://"}, regexp.MustCompile(`\b([a-zA-Z][a-zA-Z0-9+.\-]*://)[A-Za-z0-9_\-.~%]{20,}@`), "${1}" + Redacted + "@"},
	// Passwords on command lines: mysql -pSECRET, sshpass -p SECRET.
	{[]string{"mysql", "mariadb"}, regexp.MustCompile(`(\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]*?[ \t]-p)[^\s"']+`), "${1}" + Redacted},
	{[]string{"sshpass"}, regexp.MustCompile(`(\bsshpass\b[^\n]*?[ \t]-p[ \t]*)[^\s"'-][^\s"']*`), "${1}" + Redacted},
	// AWS access key ids.
	{[]string{"akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa"}, regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b`), Redacted},
	// GitHub tokens (classic and fine-grained).
	{[]string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}, regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36,}\b`), Redacted},
	{[]string{"github_pat_"}, regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{22,}\b`), Redacted},
	// GitLab personal access tokens.
	{[]string{"glpat-"}, regexp.MustCompile(`\bglpat-[A-Za-z0-9_\-]{20,}`), Redacted},
	// Slack tokens.
	{[]string{"xox"}, regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9\-]{10,}`), Redacted},
	// Google API keys.
	{[]string{"aiza"}, regexp.MustCompile(`\bAIza[0-9A-Za-z\-_]{35}`), Redacted},
	// OpenAI, Anthropic and similar "sk-" keys; Stripe secret keys.
	{[]string{"sk-"}, regexp.MustCompile(`\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_\-]{20,}`), Redacted},
	{[]string{"k_live_", "k_test_"}, regexp.MustCompile(`\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}`), Redacted},
	// npm tokens.
	{[]string{"npm_"}, regexp.MustCompile(`\bnpm_[A-Za-z0-9]{36}\b`), Redacted},
	// JSON Web Tokens: base64url header.payload.signature, header and
	// payload both JSON objects (so both start "eyJ").
	{[]string{"eyj"}, regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}`), Redacted},
}

// secretHints holds a substring of everything Redact replaces: every
// token pattern's hints, every gitleaks rule's keywords and every root of
// secretWords and secretSuffixes. Text without any of them (most text),
// and without a run of exactly 40 base64 characters (a bare AWS secret
// key), is returned at once.
var secretHints = func() []string {
	h := []string{"token", "secret", "passw", "pwd", "key", "credential", "passphrase", "cookie", "jwt", "auth", "sig"}
	for _, p := range tokenPatterns {
		h = append(h, p.hints...)
	}
	return append(h, gitleaksKeywords()...)
}()

// hintsByFirst lists the secretHints by their first byte, and
// hintStarts holds their first two bytes (a bit per pair): most positions
// of a text are passed over after one look-up.
var hintsByFirst, hintStarts = func() (t [256][]string, pairs [1 << 16 / 64]uint64) {
	for _, h := range secretHints {
		t[h[0]] = append(t[h[0]], h)
		p := uint16(h[0])<<8 | uint16(h[1])
		pairs[p/64] |= 1 << (p % 64)
	}
	return t, pairs
}()

// The only characters outside ASCII that strings.ToLower turns into ASCII
// letters: İ (U+0130) into i and the Kelvin sign (U+212A) into k.
const dottedI, kelvin = "\u0130", "\u212a"

// mayHoldSecret reports whether s holds one of the secretHints, ignoring
// case: containsAny(strings.ToLower(s), secretHints), in one pass and
// without a copy. Every step's arguments and result go through it, and
// almost none holds a hint.
func mayHoldSecret(s string) bool {
	run := 0                        // base64 characters ending at i
	for i := 0; i+1 < len(s); i++ { // every hint is 2 bytes or more
		if base64Char[s[i]] {
			run++
		} else {
			run = 0
		}
		if run == awsSecretLen && !base64Char[s[i+1]] {
			return true
		}
		c, d := lowerASCII(s[i]), lowerASCII(s[i+1])
		if p := uint16(c)<<8 | uint16(d); hintStarts[p/64]&(1<<(p%64)) == 0 {
			continue
		}
		for _, h := range hintsByFirst[c] {
			if len(s)-i >= len(h) && equalFoldASCII(s[i:i+len(h)], h) {
				return true
			}
		}
	}
	if n := len(s); n > 0 && base64Char[s[n-1]] && run+1 == awsSecretLen {
		return true
	}
	return (strings.Contains(s, dottedI) || strings.Contains(s, kelvin)) && containsAny(strings.ToLower(s), secretHints)
}

// awsSecretLen is the length of an AWS secret access key.
const awsSecretLen = 40

// base64Char holds the characters of standard base64 without padding,
// those of an AWS secret access key.
var base64Char = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = true
	}
	return t
}()

// hasBase64Run reports whether s holds a run of exactly n base64
// characters: mayHoldSecret's second condition, written plainly.
func hasBase64Run(s string, n int) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if base64Char[s[i]] {
			run++
			continue
		}
		if run == n {
			return true
		}
		run = 0
	}
	return run == n
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldASCII reports whether s equals the lower-case ASCII hint h,
// ignoring the case of s's ASCII letters.
func equalFoldASCII(s, h string) bool {
	for i := 0; i < len(h); i++ {
		if lowerASCII(s[i]) != h[i] {
			return false
		}
	}
	return true
}

// keyValue matches `key=value`, `key: value` and `"key": "value"` in text.
// Group 1 is the key with its quotes and separator, group 2 the key name,
// group 3 the value. Whether the key names a secret is decided in code
// (secretKey), so that "monkey: 3" or "keyboard=us" stay.
var keyValue = regexp.MustCompile(`((?:\\?["'])?(-{0,2}[A-Za-z_][A-Za-z0-9_.\-]*)(?:\\?["'])?[ \t]*[:=][ \t]*)(\\"(?:[^"\\]|\\[^"])*\\"|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;&"'<>(){}\[\]\\]+)`)

// secretFlag matches `--password hunter2` style command-line flags.
var secretFlag = regexp.MustCompile(`(\s--?([A-Za-z][A-Za-z0-9_\-]*)[ \t]+)([^\s\-][^\s]*)`)

// Redact returns s with secrets replaced by [REDACTED]: values of keys that
// name a secret (token, secret, password, passwd, key, api_key,
// authorization, credential, cookie... as whole words of the key, so
// "monkey" and "keyboard" are not secrets) in `key=value`, `key: value`,
// `"key": "value"` and `--key value` forms; Bearer and Basic credentials;
// PEM private key blocks; passwords in URLs; and common credential formats
// by shape (AWS access key ids, GitHub, GitLab, Slack, Google, OpenAI,
// Anthropic, Stripe and npm tokens, JWTs). It never fails.
func Text(s string) string {
	if s == "" || !mayHoldSecret(s) {
		return s
	}
	s = redactTokens(s)
	s = applyRules(s)
	s = redactYAMLBlocks(s)
	if strings.ContainsAny(s, ":=") {
		s = replaceSubmatch(queryParam, s, redactPair)
		s = replaceSubmatch(keyValue, s, redactPair)
	}
	if strings.Contains(s, "-") {
		s = replaceSubmatch(secretFlag, s, func(m []string) (string, bool) {
			if !secretKey(m[2]) || m[3] == Redacted {
				return "", false
			}
			return m[1] + Redacted, true
		})
	}
	return redactAWSSecrets(s)
}

// redactTokens applies the tokenPatterns whose hints s holds.
func redactTokens(s string) string {
	lower := strings.ToLower(s)
	for _, p := range tokenPatterns {
		if !containsAny(lower, p.hints) {
			continue
		}
		if r := p.re.ReplaceAllString(s, p.repl); r != s {
			s, lower = r, strings.ToLower(r)
		}
	}
	return s
}

// queryParam matches a URL query parameter (?password=x&sig=y), whose
// value the bare keyValue form would not reach when it follows a URL's
// scheme ("https:" looks like a key).
var queryParam = regexp.MustCompile(`([?&;](-{0,2}[A-Za-z_][A-Za-z0-9_.\-]*)=)([^&#\s"'<>\\]+)`)

// redactPair is the replacement of a keyValue or queryParam match m
// (m[1] key and separator, m[2] the key, last the value).
func redactPair(m []string) (string, bool) {
	key, val := m[2], m[len(m)-1]
	if strings.HasPrefix(val, "=") {
		return "", false // `x := y`, `a == b`: code, not an assignment of a secret
	}
	switch strings.ToLower(val) {
	case "bearer", "basic", "token", "digest", "negotiate", "apikey", "sso-key":
		return "", false // an authorization scheme; its credential is redacted above
	}
	if !secretKey(key) || !secretValue(val) {
		return "", false
	}
	switch {
	case strings.HasPrefix(val, `\"`):
		return m[1] + `\"` + Redacted + `\"`, true
	case val[0] == '"':
		return m[1] + `"` + Redacted + `"`, true
	case val[0] == '\'':
		return m[1] + `'` + Redacted + `'`, true
	}
	return m[1] + Redacted, true
}

// yamlBlock matches a YAML key introducing a block scalar (`password: |`);
// group 1 is its indentation, group 2 the key.
var yamlBlock = regexp.MustCompile(`(?m)^([ \t]*)["']?([A-Za-z_][A-Za-z0-9_.\-]*)["']?[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*(?:#[^\n]*)?$`)

// redactYAMLBlocks replaces the lines of a block scalar under a secret key
// (every following line indented deeper than the key, and blank lines
// among them) with one [REDACTED] line.
func redactYAMLBlocks(s string) string {
	if !strings.Contains(s, "|") && !strings.Contains(s, ">") {
		return s
	}
	idx := yamlBlock.FindAllStringSubmatchIndex(s, -1)
	var b strings.Builder
	last := 0
	for _, loc := range idx {
		if loc[0] < last || !secretKey(s[loc[4]:loc[5]]) {
			continue
		}
		indent := loc[3] - loc[2]
		start := loc[1] // end of the key's line
		end := start
		for end < len(s) {
			line := s[end+1:] // the text after the newline at end
			if i := strings.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			if t := strings.TrimLeft(line, " \t"); t != "" && len(line)-len(t) <= indent {
				break
			}
			end += 1 + len(line)
		}
		if end == start {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString("\n" + strings.Repeat(" ", indent+2) + Redacted)
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// redactAWSSecrets replaces runs of exactly 40 base64 characters that
// mix upper case, lower case and digits and are random enough: bare AWS
// secret access keys. A git hash (lower-case hex) is not one.
func redactAWSSecrets(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !base64Char[s[i]] {
			i++
			continue
		}
		j := i
		for j < len(s) && base64Char[s[j]] {
			j++
		}
		if j-i == awsSecretLen && looksRandom(s[i:j]) {
			b.WriteString(s[last:i])
			b.WriteString(Redacted)
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// looksRandom reports whether k holds upper case, lower case and digits
// with the entropy of random text (a 40-character random key scores about
// 4.8 bits per character; words and paths score lower).
func looksRandom(k string) bool {
	var up, low, dig bool
	for i := 0; i < len(k); i++ {
		c := k[i]
		up = up || 'A' <= c && c <= 'Z'
		low = low || 'a' <= c && c <= 'z'
		dig = dig || '0' <= c && c <= '9'
	}
	return up && low && dig && shannon(k) >= 4.2
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// replaceSubmatch is ReplaceAllStringSubmatchFunc that can decline a match.
func replaceSubmatch(re *regexp.Regexp, s string, f func([]string) (string, bool)) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range idx {
		m := make([]string, len(loc)/2)
		for i := range m {
			if loc[2*i] >= 0 {
				m[i] = s[loc[2*i]:loc[2*i+1]]
			}
		}
		r, ok := f(m)
		if !ok {
			continue
		}
		b.WriteString(s[last:loc[0]])
		b.WriteString(r)
		last = loc[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// secretValue reports whether a value is worth hiding: numbers, booleans,
// null, empty strings and values already redacted are not.
func secretValue(v string) bool {
	u := strings.Trim(v, `"'\\`)
	if u == "" || u == Redacted || strings.HasPrefix(u, "[REDACTED") {
		return false
	}
	switch strings.ToLower(u) {
	case "true", "false", "null", "nil", "none", "<nil>":
		return false
	}
	numeric := true
	for _, r := range u {
		if !unicode.IsDigit(r) && r != '.' && r != '-' {
			numeric = false
			break
		}
	}
	return !numeric
}

// secretWords are whole words of a key (split at _, -, ., spaces and
// camelCase) that make its value a secret.
var secretWords = map[string]bool{
	"token": true, "secret": true, "password": true, "passwd": true, "pwd": true,
	"key": true, "apikey": true, "authorization": true, "credential": true,
	"credentials": true, "passphrase": true, "cookie": true, "privatekey": true,
	"accesskey": true, "secretkey": true, "sessiontoken": true, "authtoken": true,
	"accesstoken": true, "refreshtoken": true, "apitoken": true, "clientsecret": true,
	"signingkey": true, "encryptionkey": true, "jwt": true,
	// npm's _auth and docker's "auth"; Azure SAS sig= and AWS Signature=.
	"auth": true, "sig": true, "signature": true,
}

// secretSuffixes catch words written without separators ("githubtoken",
// "dbpassword").
var secretSuffixes = []string{"token", "secret", "password", "passwd", "apikey", "privatekey", "secretkey", "accesskey"}

// notSecretWords are words that end like a secret but are not one.
var notSecretWords = map[string]bool{"tokens": true, "keys": true}

// sourceExt are file name extensions: "key_test.go:42" is a file and a
// line, not a key and its value.
var sourceExt = map[string]bool{
	"go": true, "py": true, "js": true, "ts": true, "tsx": true, "jsx": true, "rs": true,
	"java": true, "kt": true, "c": true, "h": true, "cc": true, "cpp": true, "hpp": true,
	"rb": true, "php": true, "cs": true, "swift": true, "sh": true, "txt": true, "md": true,
	"json": true, "yaml": true, "yml": true, "toml": true, "xml": true, "html": true,
	"css": true, "sql": true, "proto": true, "pem": true, "pub": true, "mod": true, "sum": true,
}

// secretKey reports whether a key name names a secret.
func secretKey(key string) bool {
	if i := strings.LastIndexByte(key, '.'); i > 0 && sourceExt[strings.ToLower(key[i+1:])] {
		return false
	}
	for _, w := range splitWords(key) {
		w = strings.ToLower(w)
		if notSecretWords[w] {
			continue
		}
		if secretWords[w] {
			return true
		}
		for _, suf := range secretSuffixes {
			if strings.HasSuffix(w, suf) && len(w) <= len(suf)+12 {
				return true
			}
		}
	}
	// "api_key" split is api, key; also match the joined form of adjacent
	// words ("access" "key" is caught by "key", "client" "secret" by
	// "secret"), so nothing more to do.
	return false
}

// splitWords splits an identifier at non-alphanumerics and at camelCase
// boundaries: "X-Api-Key" -> X Api Key, "apiKey" -> api Key, "APIKey" -> API Key.
func splitWords(s string) []string {
	var words []string
	rs := []rune(s)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, string(rs[start:end]))
		}
		start = -1
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		if unicode.IsUpper(r) {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush(i)
				start = i
			}
		}
	}
	flush(len(rs))
	return words
}

// JSON redacts a JSON document: the value of every object member whose
// key names a secret (see Redact) becomes "[REDACTED]" unless it is a
// number, boolean, null or empty; every other string is passed through
// Redact. Member order is kept. Input that is not valid JSON is redacted as
// text with Redact. It never fails.
func JSON(s string) string {
	if !mayHoldSecret(s) || strings.TrimSpace(s) == "" {
		return s
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out bytes.Buffer
	out.Grow(len(s))
	if err := redactValue(dec, &out); err != nil {
		return Text(s)
	}
	if strings.TrimSpace(s[dec.InputOffset():]) != "" { // trailing data: not one JSON value
		return Text(s)
	}
	return out.String()
}

// redactValue copies one JSON value from dec to out, redacting as it goes.
func redactValue(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out.WriteByte('{')
			first := true
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, ok := kt.(string)
				if !ok {
					return errNotJSON
				}
				if !first {
					out.WriteByte(',')
				}
				first = false
				writeJSONString(out, key)
				out.WriteByte(':')
				if secretKey(key) {
					if err := redactSecretValue(dec, out); err != nil {
						return err
					}
					continue
				}
				if err := redactValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // '}'
				return err
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			first := true
			for dec.More() {
				if !first {
					out.WriteByte(',')
				}
				first = false
				if err := redactValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return err
			}
			out.WriteByte(']')
		default:
			return errNotJSON
		}
	case string:
		writeJSONString(out, Text(t))
	default:
		writeScalar(out, t)
	}
	return nil
}

// redactSecretValue consumes the value of a secret member and writes
// "[REDACTED]" in its place, or the value itself when there is nothing to
// hide (numbers, booleans, null, "").
func redactSecretValue(dec *json.Decoder, out *bytes.Buffer) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	switch raw[0] {
	case '"':
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return err
		}
		if !secretValue(str) {
			writeJSONString(out, str)
			return nil
		}
	case '{', '[':
		if len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0 {
			out.Write(raw)
			return nil
		}
	default: // number, true, false, null
		out.Write(raw)
		return nil
	}
	writeJSONString(out, Redacted)
	return nil
}

type jsonError string

func (e jsonError) Error() string { return string(e) }

const errNotJSON = jsonError("not a JSON document")

func writeJSONString(out *bytes.Buffer, s string) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out.Truncate(out.Len() - 1)
}

func writeScalar(out *bytes.Buffer, v any) {
	switch t := v.(type) {
	case json.Number:
		out.WriteString(t.String())
	case bool:
		if t {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	}
}

// Stored is the run log's one redactor: what every stored byte
// passes through (see scrub), and what anything else that persists text
// factory produced (snapshot commit messages, span attributes) should use.
// A JSON object or array is redacted as JSON (JSON), anything else
// as text (Redact). It never fails and is idempotent.
func Stored(s string) string {
	if !mayHoldSecret(s) {
		return s
	}
	if t := strings.TrimLeft(s, " \t\r\n"); t != "" && (t[0] == '{' || t[0] == '[') {
		return JSON(s)
	}
	return Text(s)
}
