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

	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/traces"
	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	proc.Init()
	os.Exit(m.Run())
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
		buildOnce.path = filepath.Join(dir, "factory")
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
