package traces_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/factory-dev/factory/traces/redact"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// secretShape is a credential in the form it reaches the run log: text
// holding it, and the bytes that must never be stored.
type secretShape struct {
	name, text, secret string
}

// secretShapes are the credential shapes that were stored in clear
// (all fake: random characters in the right shapes).
var secretShapes = []secretShape{
	{"url query password", "GET https://db.example.com/connect?user=app&password=Qz7vLp2Kx9Rm", "Qz7vLp2Kx9Rm"},
	{"url password with slash", "git clone https://bob:pa/ss9Wq2Zr@git.example.com/app.git", "pa/ss9Wq2Zr"},
	{"pgp private key block", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF3xQ8sBCADk7pZr2Nq9Lw4Vt1Yc\n=Xy7Q\n-----END PGP PRIVATE KEY BLOCK-----", "lQOYBF3xQ8sBCADk7pZr2Nq9Lw4Vt1Yc"},
	{"azure shared key header", "Authorization: SharedKey myaccount:ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08=", "ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08"},
	{"aws4 signature", "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
	{"npm _auth", "registry=https://registry.npmjs.org/\n_auth=Ym9iOnM0cDNyczNjcjN0UXo3dg==\nalways-auth=true", "Ym9iOnM0cDNyczNjcjN0UXo3dg"},
	{"mysql -p", "mysql -u root -pVk3sLq9Zt7 -h db.internal app", "Vk3sLq9Zt7"},
	{"sshpass -p", "sshpass -p Hn4Wq8Zp2Lx ssh deploy@10.0.0.7 uptime", "Hn4Wq8Zp2Lx"},
	{"slack webhook", "curl -X POST https://hooks.slack.com/services/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Jd5Fs0", "Zq8Lm2Vx7Rt4Np9Kc3Wy6Hb1Jd5Fs0"},
	{"azure sas sig", "https://acct.blob.core.windows.net/c/b.txt?sv=2021-08-06&se=2030-01-01&sr=b&sp=r&sig=Yq3kLm8Zt2Vx9Rp4Wn7Bc1Hd6Fs0Jq5Lm8Zt2Vx%3D", "Yq3kLm8Zt2Vx9Rp4Wn7Bc1Hd6Fs0Jq5Lm8Zt2Vx"},
	{"token as url user", "git push https://Xk29fLq7ZpR3mN8vT5wY1cB6@github.com/acme/app.git main", "Xk29fLq7ZpR3mN8vT5wY1cB6"},
	{"docker auth", `{"auths":{"registry.example.com":{"auth":"ZGVwbG95OlE3YloxbVd4OVJ2M0xjOA=="}}}`, "ZGVwbG95OlE3YloxbVd4OVJ2M0xjOA"},
	{"yaml block scalar password", "db:\n  password: |\n    Wv8Kq2Zm7Lp4Rx9T\n  user: alice\n", "Wv8Kq2Zm7Lp4Rx9T"},
	{"bare aws secret key", "exported wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY to the profile", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
}

func TestRedactSecretShapes(t *testing.T) {
	for _, sh := range secretShapes {
		t.Run(sh.name, func(t *testing.T) {
			got := redact.Text(sh.text)
			assert.NotContains(t, got, sh.secret)
			assert.Contains(t, got, "REDACTED")
			assert.Equal(t, got, redact.Text(got), "idempotent")
			doc, _ := json.Marshal(map[string]string{"note": sh.text})
			assert.NotContains(t, redact.JSON(string(doc)), sh.secret, "inside a JSON string too")
		})
	}
}

// storeEverywhere writes text through every write method of the run log.
func storeEverywhere(t *testing.T, ctx context.Context, s *traces.Store, text string) {
	t.Helper()
	args, _ := json.Marshal(map[string]string{"cmd": text})
	r, err := s.StartRun(ctx, factory.Run{Name: text})
	require.NoError(t, err)
	_, err = s.RecordStep(ctx, factory.Step{RunID: r.ID, Tool: "x", Args: string(args), Result: text, Error: text})
	require.NoError(t, err)
	st, err := s.RecordStep(ctx, factory.Step{RunID: r.ID, Tool: "y", Args: string(args), Status: factory.StepToolError, Result: text, Error: text})
	require.NoError(t, err)
	_, err = s.AddMessage(ctx, factory.Message{RunID: r.ID, Text: text})
	require.NoError(t, err)
	require.NoError(t, s.PutBlob(ctx, factory.NewID("t-"), "test-log", []byte("log:\n"+text+"\n")))
	require.NoError(t, s.RecordSnapshot(ctx, factory.Snapshot{ID: factory.NewID("s-"), Commit: "c", Tree: "t", Label: text}))
	require.NoError(t, s.RecordTestRun(ctx, r.ID, st.ID, factory.TestReport{ID: factory.NewID("t-"),
		Failures: []factory.TestFailure{{Name: "TestX", Message: text}}}))
	require.NoError(t, s.RecordVerdicts(ctx, r.ID, st.ID, []factory.Verdict{{ID: "v", Status: "fail", Message: text, Evidence: []string{text}}}))
}

// assertNotOnDisk greps every file under dir (the database, its WAL, the
// step journal's segments) for each secret's raw bytes.
func assertNotOnDisk(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	files := 0
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, sec := range secrets {
			assert.False(t, bytes.Contains(data, []byte(sec)), "%s holds the secret %q", p, sec)
		}
		return nil
	}))
	require.NotZero(t, files)
}

// attack: an agent passes credentials of every shape that used to slip through (in arguments, results, notes, blobs, labels, reports, verdicts) -> none of their bytes reaches the database, its WAL or the step journal
func TestAttackSecretShapesNeverReachDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// The file the credentials came from stays as it was.
	src := filepath.Join(t.TempDir(), ".npmrc")
	require.NoError(t, os.WriteFile(src, []byte(secretShapes[5].text), 0o600))
	before := attacktest.Take(t, src)
	s, err := traces.Open(ctx, traces.Config{Path: filepath.Join(dir, "factory.db")})
	require.NoError(t, err)
	var secrets []string
	for _, sh := range secretShapes {
		storeEverywhere(t, ctx, s, sh.text)
		secrets = append(secrets, sh.secret)
	}
	_, err = s.Runs(ctx, 100) // commits what is queued
	require.NoError(t, err)
	assertNotOnDisk(t, dir, secrets...) // the journal segment is still there
	require.NoError(t, s.Close())
	assertNotOnDisk(t, dir, secrets...)
	attacktest.Unchanged(t, before, src)
}

// attack: a blob (a whole test log or diff) carries a credential past the redaction of short fields -> PutBlob redacts it too
func TestAttackBlobCarriesSecret(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	before := attacktest.Take(t, dir)
	s, err := traces.Open(ctx, traces.Config{Path: filepath.Join(dir, "factory.db")})
	require.NoError(t, err)
	require.NoError(t, s.PutBlob(ctx, "t-1", "test-log", []byte("=== RUN\nexport GITHUB_TOKEN=Zx8Qm2Lr7Vn4Kc9Tb1\n--- PASS\n")))
	_, data, err := s.Blob(ctx, "t-1")
	require.NoError(t, err)
	assert.NotContains(t, string(data), "Zx8Qm2Lr7Vn4Kc9Tb1")
	assert.Contains(t, string(data), "--- PASS")
	require.NoError(t, s.Close())
	assertNotOnDisk(t, dir, "Zx8Qm2Lr7Vn4Kc9Tb1")
	_ = before // the run log's own directory is meant to change
}

// attack: an agent sends a NUL byte in trace_query's text, or reads a blob id it made up, hoping for an internal error that leaks details -> EINVALID saying what to pass instead; the run log is unchanged
func TestAttackQueryNULAndUnknownBlob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := traces.Open(ctx, traces.Config{Path: filepath.Join(dir, "factory.db")})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Runs(ctx, 1)
	require.NoError(t, err)
	before := attacktest.Take(t, filepath.Join(dir, "factory.db"))
	_, err = s.Query(ctx, traces.Query{Text: "snap\x00shot"})
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
	assert.Contains(t, factory.ErrorMessage(err), "NUL")
	_, _, err = s.Blob(ctx, "d-doesnotexist")
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
	assert.Contains(t, factory.ErrorMessage(err), "pass an id a tool returned")
	attacktest.Unchanged(t, before, filepath.Join(dir, "factory.db"))
}
