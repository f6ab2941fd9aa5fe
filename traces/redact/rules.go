package redact

import (
	_ "embed"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// gitleaksTOML is gitleaks' default rule set (config/gitleaks.toml of
// github.com/zricethezav/gitleaks/v8 v8.30.1, MIT licence in
// gitleaks.LICENSE), copied rather than imported: its config package
// brings viper, zerolog, hcl, afero and a dozen more modules into the run
// log for one embedded string. To update, copy the file of a newer release
// over this one; TestGitleaksRulesLoad checks that every rule still loads.
//
//go:embed gitleaks.toml
var gitleaksTOML string

// skippedRules are gitleaks rules redaction does not use: generic-api-key
// is the key-name rule that Redact implements itself (secretKey), with
// fewer false hits on code and logs and without a regexp that has no
// literal to search for.
var skippedRules = map[string]bool{"generic-api-key": true}

// rule is one gitleaks rule: its regexp, the lower-case keywords one of
// which every match contains, the minimum Shannon entropy of the secret,
// and the group holding the secret (0: the first non-empty group).
type rule struct {
	id       string
	re       *regexp.Regexp
	keywords []string
	entropy  float64
	group    int
}

// rawRule is a rule as the TOML file writes it, before compiling.
type rawRule struct {
	id, regex, path string
	keywords        []string
	entropy         float64
	group           int
}

// gitleaksRules returns the usable rules of gitleaksTOML, compiled once on
// first use (a constant computed lazily: compiling 200 regexps at every
// process start would cost each command-line call milliseconds).
var gitleaksRules = sync.OnceValue(func() []rule {
	rules, _ := loadRules(gitleaksTOML)
	return rules
})

// loadRules compiles the usable rules of text. Rules that only match file
// paths, have no keywords or do not compile are left out and returned in
// skipped. Allowlists are ignored: redaction errs on the side of hiding.
func loadRules(text string) (rules []rule, skipped []string) {
	for _, r := range parseRules(text) {
		if !r.usable() {
			skipped = append(skipped, r.id)
			continue
		}
		re, err := regexp.Compile(r.regex)
		if err != nil {
			skipped = append(skipped, r.id+": "+err.Error())
			continue
		}
		rules = append(rules, rule{id: r.id, re: re, keywords: r.keywords, entropy: r.entropy, group: r.group})
	}
	return rules, skipped
}

// usable reports whether redaction can use r: it matches content (not
// file paths only), has keywords to prefilter with, and is not skipped.
func (r rawRule) usable() bool {
	return r.regex != "" && r.path == "" && len(r.keywords) > 0 && !skippedRules[r.id]
}

// parseRules reads the subset of TOML the generated gitleaks file uses:
// [[rules]] tables of id, regex (”'...”' on one line), keywords (a list,
// on one line or several), entropy, secretGroup and path.
func parseRules(text string) []rawRule {
	var raws []rawRule
	var cur *rawRule
	inKeywords := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "["):
			if inKeywords && line == "]" {
				inKeywords = false
				continue
			}
			cur = nil
			if line == "[[rules]]" {
				raws = append(raws, rawRule{})
				cur = &raws[len(raws)-1]
			}
			continue
		case cur == nil:
			continue
		case inKeywords:
			if line == "]" {
				inKeywords = false
				continue
			}
			cur.keywords = append(cur.keywords, strings.ToLower(unquote(strings.TrimSuffix(line, ","))))
			continue
		}
		key, val, ok := strings.Cut(line, " = ")
		if !ok {
			continue
		}
		switch key {
		case "id":
			cur.id = unquote(val)
		case "regex":
			cur.regex = unquote(val)
		case "path":
			cur.path = unquote(val)
		case "entropy":
			cur.entropy, _ = strconv.ParseFloat(val, 64)
		case "secretGroup":
			cur.group, _ = strconv.Atoi(val)
		case "keywords":
			if val == "[" {
				inKeywords = true
				continue
			}
			for _, k := range strings.Split(strings.Trim(val, "[]"), ",") {
				if k = strings.TrimSpace(k); k != "" {
					cur.keywords = append(cur.keywords, strings.ToLower(unquote(k)))
				}
			}
		}
	}
	return raws
}

// unquote strips TOML's ”'literal”', 'literal' and "basic" quotes.
func unquote(v string) string {
	for _, q := range []string{"'''", "'", `"`} {
		if len(v) >= 2*len(q) && strings.HasPrefix(v, q) && strings.HasSuffix(v, q) {
			return v[len(q) : len(v)-len(q)]
		}
	}
	return v
}

// gitleaksKeywords lists every keyword of the usable rules, for the
// prefilter; read at init without compiling the rules.
func gitleaksKeywords() []string {
	var out []string
	for _, r := range parseRules(gitleaksTOML) {
		if r.usable() {
			out = append(out, r.keywords...)
		}
	}
	return out
}

// applyRules redacts what the gitleaks rules find in s, line by line:
// only lines holding one of a rule's keywords are searched with its
// regexp (all of gitleaks' regexps match within a line), so a long log is
// scanned once, not once per rule.
func applyRules(s string) string {
	var b strings.Builder
	changed := false
	for rest := s; rest != ""; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if mayHoldSecret(line) {
			if r := applyRulesLine(line); r != line {
				if !changed {
					b.Grow(len(s))
					b.WriteString(s[:len(s)-len(rest)-len(line)])
					changed = true
				}
				b.WriteString(r)
				continue
			}
		}
		if changed {
			b.WriteString(line)
		}
	}
	if !changed {
		return s
	}
	return b.String()
}

// applyRulesLine applies every rule whose keyword occurs in line.
func applyRulesLine(line string) string {
	lower := strings.ToLower(line)
	for _, r := range gitleaksRules() {
		if !containsAny(lower, r.keywords) {
			continue
		}
		if out := r.redact(line); out != line {
			line, lower = out, strings.ToLower(out)
		}
	}
	return line
}

// redact replaces the secret of each match of r in s (the secret group, or
// the whole match) when it is random enough to be one.
func (r *rule) redact(s string) string {
	idx := r.re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range idx {
		start, end := loc[0], loc[1]
		switch {
		case r.group > 0 && 2*r.group+1 < len(loc):
			start, end = loc[2*r.group], loc[2*r.group+1]
		case r.group == 0:
			for g := 1; 2*g+1 < len(loc); g++ {
				if loc[2*g] >= 0 && loc[2*g+1] > loc[2*g] {
					start, end = loc[2*g], loc[2*g+1]
					break
				}
			}
		}
		if start < last || start < 0 || end <= start {
			continue
		}
		secret := s[start:end]
		if strings.Contains(secret, "REDACTED") || shannon(secret) < r.entropy {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(Redacted)
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// shannon is the Shannon entropy of s in bits per byte, as gitleaks
// computes it.
func shannon(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
