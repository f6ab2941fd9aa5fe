package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/traces"
	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	proc.Init()
	code := m.Run()
	if buildOnce.dir != "" {
		os.RemoveAll(buildOnce.dir) // the binary built for the tests
	}
	os.Exit(code)
}

// gitRepo makes a repository with one commit.
func gitRepo(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "initial"},
	} {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		require.NoError(t, err, string(out))
	}
	return dir
}

// cli runs the command in-process and returns exit code, stdout, stderr.
func cli(t testing.TB, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands {
		code, out, _ := cli(t, nil, c.name, "--help")
		assert.Equal(t, 0, code, c.name)
		assert.Contains(t, out, "usage: factory "+c.name, c.name)
	}
	code, out, _ := cli(t, nil, "help")
	assert.Equal(t, 0, code)
	for _, c := range commands {
		assert.Contains(t, out, c.name)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	code, _, errOut := cli(t, nil, "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "unknown command")
	code, _, errOut = cli(t, nil, "serve", "--no-such-flag")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "usage: factory serve")
	code, _, _ = cli(t, nil, "trace")
	assert.Equal(t, 2, code)
	code, _, errOut = cli(t, nil, "call", "--root", gitRepo(t), "trace_query", "{not json")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "not a JSON object")
	code, _, errOut = cli(t, nil, "call", "--root", gitRepo(t), "no_such_tool")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "trace_query", "the error lists the tools")
	code, _, _ = cli(t, nil)
	assert.Equal(t, 2, code)
}

func TestARootOutsideGitIsAOneLineErrorThatSaysHowToFixIt(t *testing.T) {
	code, _, errOut := cli(t, nil, "call", "--root", t.TempDir(), "trace_query")
	assert.Equal(t, 1, code)
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, errOut)
	assert.Contains(t, errOut, "git init")
	// CLAUDE_PROJECT_DIR is the default root.
	repo := gitRepo(t)
	code, out, errOut := cli(t, map[string]string{"CLAUDE_PROJECT_DIR": repo}, "call", "trace_note", `{"text":"from the env root"}`)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "from the env root")
	_, err := os.Stat(filepath.Join(repo, ".git", "factory", "factory.db"))
	assert.NoError(t, err, "the run log lives in .git/factory")
}

func TestCallExitCodesAndRunsAndTrace(t *testing.T) {
	repo := gitRepo(t)
	code, out, errOut := cli(t, nil, "call", "--root", repo, "trace_note", `{"text":"chose sqlite","kind":"decision"}`)
	require.Equal(t, 0, code, errOut)
	var res struct {
		Message struct {
			RunID string `json:"run_id"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))

	code, _, errOut = cli(t, nil, "call", "--root", repo, "trace_note", `{"text":"x","kind":"rumour"}`)
	assert.Equal(t, 1, code, "a tool error result exits 1")
	assert.Contains(t, errOut, "plan, decision or observation")

	code, out, _ = cli(t, nil, "runs", "--root", repo)
	require.Equal(t, 0, code)
	assert.Contains(t, out, res.Message.RunID)
	assert.Contains(t, out, "factory call")

	code, out, errOut = cli(t, nil, "trace", "--root", repo, res.Message.RunID)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "trace_note")
	assert.Contains(t, out, "decision")
	assert.Contains(t, out, "chose sqlite")

	code, _, errOut = cli(t, nil, "trace", "--root", repo, "r-doesnotexist")
	assert.Equal(t, 1, code)
	assert.NotEmpty(t, errOut)
}

// binary returns the factory binary: $FACTORY_BIN, or one built once per
// test process.
var buildOnce struct {
	sync.Once
	path string
	dir  string // made for the binary, removed by TestMain
	err  error
}

func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("FACTORY_BIN"); p != "" {
			buildOnce.path = p // make test builds it first
			return
		}
		dir, err := os.MkdirTemp("", "factory-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.dir, buildOnce.path = dir, filepath.Join(dir, "factory")
		out, err := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("%v: %s", err, out)
		}
	})
	require.NoError(t, buildOnce.err)
	return buildOnce.path
}

// TestKill9MidBurstLosesNoAnsweredStep: the server is killed with SIGKILL
// while a burst of calls is in flight. The run log must pass
// integrity_check and hold every step whose reply reached the client.
func TestKill9MidBurstLosesNoAnsweredStep(t *testing.T) {
	repo := gitRepo(t)
	cmd := exec.Command(binary(t), "serve", "--root", repo)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	w := bufio.NewWriter(stdin)
	fmt.Fprintln(w, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"burst","version":"1"}}}`)
	fmt.Fprintln(w, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	w.Flush()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	require.True(t, sc.Scan())

	const burst = 400
	go func() {
		for i := 1; i <= burst; i++ {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"trace_note","arguments":{"text":"burst note %d"}}}`+"\n", i, i)
		}
		w.Flush()
	}()
	answered := map[string]bool{}
	for sc.Scan() {
		var reply struct {
			ID     int `json:"id"`
			Result struct {
				Structured struct {
					Message struct {
						StepID string `json:"step_id"`
					} `json:"message"`
				} `json:"structuredContent"`
			} `json:"result"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &reply))
		require.NotEmpty(t, reply.Result.Structured.Message.StepID, sc.Text())
		answered[reply.Result.Structured.Message.StepID] = true
		if len(answered) == burst/2 {
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			break
		}
	}
	cmd.Wait()
	require.Len(t, answered, burst/2)

	dbPath := filepath.Join(repo, ".git", "factory", "factory.db")
	db, err := sql.Open("sqlite3", dbPath)
	require.NoError(t, err)
	var check string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	assert.Equal(t, "ok", check)
	db.Close()

	store, err := traces.Open(context.Background(), traces.Config{Path: dbPath})
	require.NoError(t, err)
	defer store.Close()
	_, steps, _, err := store.Run(context.Background(), "latest")
	require.NoError(t, err)
	have := map[string]bool{}
	for _, s := range steps {
		have[s.ID] = true
	}
	missing := 0
	for id := range answered {
		if !have[id] {
			missing++
		}
	}
	assert.Zero(t, missing, "steps whose reply was sent must survive kill -9")
}

// TestServeExportsSpansOverOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT set, the
// span of a served call reaches an OTLP/HTTP receiver by the time serve
// exits.
func TestServeExportsSpansOverOTLP(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if r.URL.Path == "/v1/traces" {
			bodies = append(bodies, b)
		}
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer recv.Close()

	repo := gitRepo(t)
	cmd := exec.Command(binary(t), "serve", "--root", repo)
	cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT="+recv.URL, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf")
	cmd.Stdin = strings.NewReader(strings.Join([]string{
		`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"otel","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"trace_note","arguments":{"text":"exported"}}}`,
	}, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Run())
	assert.Contains(t, out.String(), `"id":1`)

	mu.Lock()
	defer mu.Unlock()
	all := bytes.Join(bodies, nil)
	assert.Contains(t, string(all), "tools/call trace_note", "the span reached the receiver")
	assert.Contains(t, string(all), "gen_ai.tool.name")
}

func TestInitWritesAStarterThatParsesAndRefusesToOverwrite(t *testing.T) {
	repo := gitRepo(t)
	require.NoError(t, os.WriteFile(filepath.Join(repo, "package.json"), []byte(`{"name":"x","scripts":{"test":"node --test"}}`), 0o644))
	code, out, errOut := cli(t, nil, "init", "--root", repo)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "claude mcp add factory")
	data, err := os.ReadFile(filepath.Join(repo, "factory.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(data), "suites:")

	code, _, errOut = cli(t, nil, "init", "--root", repo)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "--force")

	code, out, _ = cli(t, nil, "doctor", "--root", repo)
	assert.Contains(t, out, "not committed at HEAD", "the rules are read from HEAD")
	assert.Contains(t, out, "git add factory.yaml && git commit")
	for _, args := range [][]string{{"add", "factory.yaml"}, {"-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "rules"}} {
		o, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput()
		require.NoError(t, err, string(o))
	}
	code, out, _ = cli(t, nil, "doctor", "--root", repo)
	assert.Contains(t, out, "factory.yaml at HEAD is valid")
	_ = code // doctor's exit depends on the machine's sandbox features
}

// damagedRunLog writes garbage bytes where repo's run log lives, as a
// damaged disk or a stray write leaves it, and returns its path.
func damagedRunLog(t *testing.T, repo string) string {
	t.Helper()
	path := filepath.Join(repo, ".git", "factory", "factory.db")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte("garbage!"), 1024), 0o600))
	return path
}

// binaryEnv is the environment for the built binary, without the
// variables that would point it at another workspace or run log, with its
// temporary files in tmp.
func binaryEnv(tmp string) []string {
	env := []string{"TMPDIR=" + tmp}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FACTORY_DB=") && !strings.HasPrefix(kv, "CLAUDE_PROJECT_DIR=") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	return env
}

// attack: the run log is damaged (garbage bytes), which used to stop every tool -> the real binary still runs `call snapshot_create` and serves tools/list and tools/call over stdio; each result carries a notice naming the path, the cause and the fix; the damaged file and its directory are byte-identical
func TestAttackDamagedRunLogDoesNotStopTheBinary(t *testing.T) {
	repo := gitRepo(t)
	path := damagedRunLog(t, repo)
	before := attacktest.Take(t, filepath.Dir(path))
	notice := "notice: the run log at " + path + " could not be opened: the file is damaged (not a readable SQLite database); this call was not recorded there"
	tmp := t.TempDir()

	cmd := exec.Command(binary(t), "call", "--root", repo, "snapshot_create", "{}")
	cmd.Env = binaryEnv(tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	assert.Contains(t, stdout.String(), `"snapshot"`)
	assert.Contains(t, stderr.String(), notice)
	assert.Contains(t, stderr.String(), "mv "+path+" "+path+".broken")

	// serve: the client keeps stdin open until the call is answered.
	cmd = exec.Command(binary(t), "serve", "--root", repo)
	cmd.Env = binaryEnv(tmp)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	fmt.Fprintln(stdin, strings.Join([]string{
		`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"damaged","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"snapshot_create","arguments":{}}}`,
	}, "\n"))
	replies := map[int]string{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for len(replies) < 3 && sc.Scan() {
		var r struct {
			ID int `json:"id"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		replies[r.ID] = sc.Text()
	}
	stdin.Close()
	require.NoError(t, cmd.Wait())
	assert.Contains(t, replies[1], `"name":"snapshot_create"`, "tools/list works")
	assert.Contains(t, replies[2], `"structuredContent":{"snapshot"`, "the call succeeds")
	assert.NotContains(t, replies[2], `"isError":true`)
	assert.Contains(t, replies[2], notice)
	attacktest.Unchanged(t, before, filepath.Dir(path))
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "each stand-in run log is removed when factory exits")
}

func TestDoctorNamesTheBrokenRunLogAndItsFix(t *testing.T) {
	repo := gitRepo(t)
	path := damagedRunLog(t, repo)
	code, out, _ := cli(t, nil, "doctor", "--root", repo)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "FAIL run log    the run log at "+path+" could not be opened: the file is damaged (not a readable SQLite database)")
	assert.Contains(t, out, "fix: move it aside (mv "+path+" "+path+".broken)")
	assert.NotContains(t, out, "ok   run log", "a broken run log is not also reported ok")

	code, out, _ = cli(t, nil, "doctor", "--json", "--root", repo)
	assert.Equal(t, 1, code)
	var rep struct {
		OK     bool
		Checks []struct {
			Name, Detail, Fix string
			OK                bool
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.False(t, rep.OK)
	var runLog []string
	for _, c := range rep.Checks {
		if c.Name == "run log" {
			runLog = append(runLog, fmt.Sprintf("ok=%v %s", c.OK, c.Fix))
		}
	}
	assert.Equal(t, []string{"ok=false move it aside (mv " + path + " " + path + ".broken) and factory makes a new one at the next start"}, runLog)
}

func TestDoctorSaysWhyThereIsNoWorkspace(t *testing.T) {
	for _, tc := range []struct {
		name, root, detail, fix string
	}{
		{"not a git repository", t.TempDir(), "is not inside a git repository", "fix: run `git init` there, or pass --root"},
		{"a missing --root", filepath.Join(t.TempDir(), "missing"), "is not a directory", "fix: pass --root with an existing directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := cli(t, nil, "doctor", "--root", tc.root)
			assert.Equal(t, 1, code)
			assert.Contains(t, out, "FAIL workspace  ")
			assert.Contains(t, out, tc.root)
			assert.Contains(t, out, tc.detail)
			assert.Contains(t, out, tc.fix)
			assert.NotContains(t, out, "no workspace")
			assert.NotContains(t, out, "run log", "without a workspace there is no run log to check")
		})
	}
}
