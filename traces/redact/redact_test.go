package redact_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/factory-dev/factory/traces/redact"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Real-looking credentials (all fake: random characters in the right shapes).
const (
	awsKeyID  = "AKIAQ3EGRIRNX7KMPV2D"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
	ghToken   = "ghp_4bX9eYtq2LmZ7vKcR1sW8nJdH3fA6gUo0pQi"
	ghPAT     = "github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefghijklmnopqrstuv"
	slackTok  = "xoxb-2145617386-4532189027-Qk7Jc9vR2mXhT8LzN1pW"
	googleKey = "AIzaSyD3x9Fq7Lm2Kp8Vb4Nc6Hj1Wr5Ts0Ye3Ua"
	openaiKey = "sk-proj-T3BlbkFJq8mN2vX7cR4zL9pK1wY6hD0sA5"
	antKey    = "sk-ant-api03-Zx8Qm2Lr7Vn4Kc9Tb1Hy6Wp3Js0Df5Ga-AbCdEfGh"
	stripeKey = "sk_live_51HqLyjWDarjtT1zdp7dcXx"
	jwt       = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	pemKey    = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----"
)

func TestRedact(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		secret []string // must be gone
		keep   []string // must survive
	}{
		{"env assignment", "export GITHUB_TOKEN=abc123def456 && make", []string{"abc123def456"}, []string{"GITHUB_TOKEN=", "&& make"}},
		{"yaml password", "db:\n  password: hunter2hunter2\n  user: alice", []string{"hunter2hunter2"}, []string{"user: alice", "password:"}},
		{"quoted json in text", `got {"api_key": "k-98765-zyx", "region": "eu-west-1"}`, []string{"k-98765-zyx"}, []string{`"region": "eu-west-1"`}},
		{"escaped json in text", `{\"client_secret\":\"s3cr3t-value\",\"x\":1}`, []string{"s3cr3t-value"}, []string{`\"x\":1`}},
		{"camel case key", "apiKey=Zm9vYmFyYmF6 accessToken: tok_live_9988", []string{"Zm9vYmFyYmF6", "tok_live_9988"}, nil},
		{"header", "X-Api-Key: 0f1e2d3c4b5a69788796a5b4c3d2e1f0\nAccept: */*", []string{"0f1e2d3c4b5a69788796a5b4c3d2e1f0"}, []string{"Accept: */*"}},
		{"authorization bearer", "curl -H 'Authorization: Bearer abc.def-ghi_jkl' https://api.example.com", []string{"abc.def-ghi_jkl"}, []string{"https://api.example.com", "curl -H"}},
		{"bare bearer", "sent Bearer AbCdEf0123456789 to the server", []string{"AbCdEf0123456789"}, []string{"to the server"}},
		{"basic auth", "Authorization: Basic dXNlcjpwYXNzd29yZA==", []string{"dXNlcjpwYXNzd29yZA=="}, nil},
		{"flag with space", "psql --password s3cr3tpw --host db.internal", []string{"s3cr3tpw"}, []string{"--host db.internal"}},
		{"url credentials", "git clone https://bob:pa55word@github.com/acme/app.git", []string{"pa55word"}, []string{"https://bob:", "@github.com/acme/app.git"}},
		{"aws key id", "aws_access_key_id " + awsKeyID + " in profile default", []string{awsKeyID}, []string{"in profile default"}},
		{"aws secret", "aws_secret_access_key = " + awsSecret, []string{awsSecret}, nil},
		{"github classic", "remote: using " + ghToken + " for push", []string{ghToken}, []string{"for push"}},
		{"github fine grained", "token in log " + ghPAT, []string{ghPAT[:30]}, nil},
		{"slack", "SLACK=" + slackTok, []string{slackTok}, nil},
		{"slack in prose", "posting with " + slackTok + " now", []string{slackTok}, []string{"now"}},
		{"google", "maps client created with " + googleKey, []string{googleKey}, nil},
		{"openai", "OPENAI: " + openaiKey, []string{openaiKey}, nil},
		{"openai in prose", "the key " + openaiKey + " was rejected", []string{openaiKey}, []string{"was rejected"}},
		{"anthropic", "using " + antKey, []string{antKey[:20]}, nil},
		{"stripe", "charge with " + stripeKey, []string{stripeKey}, nil},
		{"jwt", "cookie contains " + jwt + "; path=/", []string{"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"}, []string{"path=/"}},
		{"pem", "key file:\n" + pemKey + "\ndone", []string{"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"}, []string{"done", "[REDACTED PRIVATE KEY]"}},
		{"pem cut short", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", []string{"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"}, nil},
		{"pem with escaped newlines", `"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"`, []string{"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"}, nil},

		// Must NOT be redacted.
		{"keyboard", "keyboard=us layout: qwerty", nil, []string{"keyboard=us", "layout: qwerty"}},
		{"monkey", "monkey: banana, donkey = grey, turkey: roast", nil, []string{"monkey: banana", "donkey = grey", "turkey: roast"}},
		{"words in prose", "the key to this secret is a token of passwords", nil, []string{"the key to this secret is a token of passwords"}},
		{"tokenizer", "tokenizer: unicode61, keys: 3, max_tokens: 4096", nil, []string{"tokenizer: unicode61", "keys: 3", "max_tokens: 4096"}},
		{"numbers and booleans", "token_count: 1200 secret_present=false password: null", nil, []string{"token_count: 1200", "secret_present=false", "password: null"}},
		{"go code", "token := os.Getenv(\"X\")\nif key == nil {", nil, []string{"token := os.Getenv", "key == nil"}},
		{"task ids and disks", "task-runner-queue-manager-alpha disk-usage-report-for-host", nil, []string{"task-runner-queue-manager-alpha", "disk-usage-report-for-host"}},
		{"git hashes", "commit 3f9a2c1e5b7d9f0a2c4e6b8d0f1a3c5e7b9d1f3a tree 9c1e", nil, []string{"3f9a2c1e5b7d9f0a2c4e6b8d0f1a3c5e7b9d1f3a"}},
		{"url without password", "see https://github.com/acme/app/pull/12 and http://localhost:8080/x", nil, []string{"https://github.com/acme/app/pull/12", "http://localhost:8080/x"}},
		{"go test output", "--- FAIL: TestKeyRotation (0.01s)\n    key_test.go:42: expected 3", nil, []string{"TestKeyRotation", "key_test.go:42: expected 3"}},
		{"public key", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----", nil, []string{"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"}},
		{"empty", "", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := redact.Text(tc.in)
			for _, s := range tc.secret {
				assert.NotContains(t, got, s)
			}
			if len(tc.secret) > 0 {
				assert.Contains(t, got, "REDACTED")
			} else {
				assert.Equal(t, tc.in, got, "nothing to redact: the text must come back unchanged")
			}
			for _, k := range tc.keep {
				assert.Contains(t, got, k)
			}
			assert.Equal(t, got, redact.Text(got), "redaction is idempotent")
		})
	}
}

func TestRedactJSON(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"secret keys", `{"path":"main.go","api_key":"abcd1234","nested":{"Password":"pw-9"}}`,
			`{"path":"main.go","api_key":"[REDACTED]","nested":{"Password":"[REDACTED]"}}`},
		{"order kept", `{"z":1,"token":"t0k3n-value","a":[1,2]}`, `{"z":1,"token":"[REDACTED]","a":[1,2]}`},
		{"secret object", `{"credentials":{"user":"bob","pass":"x"},"n":2}`, `{"credentials":"[REDACTED]","n":2}`},
		{"scalars under secret keys stay", `{"max_tokens":1000,"token":null,"secret":false,"key":"","keys":["a","b"]}`,
			`{"max_tokens":1000,"token":null,"secret":false,"key":"","keys":["a","b"]}`},
		{"strings are redacted as text", `{"cmd":["curl","-H","Authorization: Bearer zzzzzzzzzzzzzzzz"],"note":"uses ` + ghToken + `"}`,
			`{"cmd":["curl","-H","Authorization: Bearer [REDACTED]"],"note":"uses [REDACTED]"}`},
		{"no html escaping, unicode kept", `{"text":"a < b && c > d — ok"}`, `{"text":"a < b && c > d — ok"}`},
		{"keyboard and monkey keys", `{"keyboard":"us","monkey":"george","hotkey_label":"ctrl"}`, `{"keyboard":"us","monkey":"george","hotkey_label":"ctrl"}`},
		{"not json falls back to text", `password=hunter22 {`, `password=[REDACTED] {`},
		{"trailing data falls back", `{"a":1} token=abcdef`, `{"a":1} token=[REDACTED]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := redact.JSON(tc.in)
			assert.Equal(t, tc.want, got)
			if json.Valid([]byte(tc.in)) {
				assert.True(t, json.Valid([]byte(got)), "valid JSON stays valid: %s", got)
			}
		})
	}
}

func FuzzRedactJSON(f *testing.F) {
	f.Add(`{"token":"abc","x":[1,"Bearer qqqqqqqq"]}`)
	f.Add(`password: hunter2`)
	f.Add(`{"a":{"b":{"secret":{"c":1}}}}`)
	f.Fuzz(func(t *testing.T, s string) {
		got := redact.JSON(s)
		if json.Valid([]byte(s)) {
			require.True(t, json.Valid([]byte(got)), "in %q out %q", s, got)
		}
		// A string under a secret key is either kept whole (nothing to
		// hide) or replaced whole.
		doc := `{"token":` + string(mustJSON(s)) + `}`
		out := redact.JSON(doc)
		if out != `{"token":"[REDACTED]"}` {
			require.Equal(t, doc, out)
			require.True(t, isScalarish(s), "kept a secret: %s", out)
		}
	})
}

func FuzzRedact(f *testing.F) {
	f.Add("export AWS_SECRET_ACCESS_KEY=" + awsSecret)
	f.Add("Bearer abc " + jwt)
	f.Fuzz(func(t *testing.T, s string) {
		got := redact.Text(s)
		require.Equal(t, got, redact.Text(got), "idempotent")
	})
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// isScalarish mirrors what redaction deliberately keeps under a secret key.
func isScalarish(s string) bool {
	u := strings.Trim(s, `"'\`)
	if u == "" || strings.HasPrefix(u, "[REDACTED") {
		return true
	}
	switch strings.ToLower(u) {
	case "true", "false", "null", "nil", "none", "<nil>":
		return true
	}
	return strings.Trim(u, "0123456789.-") == ""
}

// TestSecretHintsCoverEveryRule: the fast path (no hint: return the text
// unchanged) must not skip anything the rules would redact. Each secret
// word and token shape is checked to be caught, and text without hints is
// checked to be left alone by the full rules too.
func TestSecretHintsCoverEveryRule(t *testing.T) {
	for _, in := range []string{
		"token=abc123", "SECRET: xyz987", "passwd=qq1", "pwd=qq2", "apikey: qq3", "x-credential=qq4",
		"passphrase: qq5", "cookie: sid=qq6", "jwt=qq7", "githubtoken=qq8", "dbpassword: qq9",
		"sent " + ghToken, "with " + awsKeyID, jwt, slackTok, googleKey, openaiKey, stripeKey,
		"npm_" + strings.Repeat("a1", 18), "glpat-" + strings.Repeat("x", 20), "https://u:pw9@h.example",
	} {
		assert.NotEqual(t, in, redact.Text(in), in)
	}
}
