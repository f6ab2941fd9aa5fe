package traces_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const crashEnv = "FACTORY_TRACES_CRASH_DB"

// TestCrashChild is the writer that TestKill9KeepsEveryAcknowledgedStep
// kills. It runs only in the child, where crashEnv names the database. It
// writes from several goroutines and prints what it wrote right after the
// write returned: "M id" after AddMessage (a write that waits for its
// commit), "R id" after RecordStep (a journaled step), so that waiting
// commits and the journal's background inserts share transactions.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process of TestKill9KeepsEveryAcknowledgedStep")
	}
	ctx := context.Background()
	s, err := traces.Open(ctx, traces.Config{Path: path})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	run, err := s.StartRun(ctx, factory.Run{Name: "burst"})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	say := func(kind, id string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("%s %s\n", kind, id)
	}
	say("run", run.ID)
	deadline := time.Now().Add(60 * time.Second) // never outlive a dead parent by long
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				args := fmt.Sprintf(`{"g":%d,"i":%d,"path":"internal/pkg/file_%d.go"}`, g, i, i%50)
				if g%2 == 0 {
					m, err := s.AddMessage(ctx, factory.Message{RunID: run.ID, Text: "applied " + args})
					if err != nil {
						say("ERR", err.Error())
						return
					}
					say("M", fmt.Sprint(m.ID))
				} else {
					st, err := s.RecordStep(ctx, factory.Step{RunID: run.ID, Method: "tools/call", Tool: "trace_note", Args: args, Status: factory.StepOK})
					if err != nil {
						say("ERR", err.Error())
						return
					}
					say("R", st.ID)
				}
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}

// TestKill9KeepsEveryAcknowledgedStep kills a writing process with SIGKILL
// in the middle of a burst. The database must pass integrity_check and hold
// every message and step whose AddMessage or RecordStep had returned (the
// child printed it): those are the ones whose MCP reply was sent.
func TestKill9KeepsEveryAcknowledgedStep(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "factory.db")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	messages, recorded := map[string]bool{}, map[string]bool{}
	acked := 0
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		kind, id, _ := strings.Cut(sc.Text(), " ")
		switch kind {
		case "M":
			messages[id] = true
		case "R":
			recorded[id] = true
		case "ERR":
			t.Fatalf("child: %s", id)
		default:
			continue
		}
		acked++
		// Kill in the middle of the burst, at a point that varies with
		// scheduling: writes are in flight on every goroutine, and some
		// messages (writes that wait for their commit, behind the
		// journal's stream) were acknowledged.
		if acked >= 4000 && len(messages) >= 3 && !killed {
			require.NoError(t, cmd.Process.Kill())
			killed = true
		}
	}
	require.NoError(t, sc.Err())
	err = cmd.Wait()
	require.True(t, killed, "the child ended before the kill: %v", err)
	require.Error(t, err, "the child was killed")
	t.Logf("acknowledged before and during the kill: %d messages, %d steps recorded", len(messages), len(recorded))

	db := rawDB(t, path)
	var check string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	assert.Equal(t, "ok", check)
	// Recorded steps may still be in the dead child's step journal: an
	// Open replays it into the database before returning.
	replay, err := traces.Open(context.Background(), traces.Config{Path: path})
	require.NoError(t, err)
	require.NoError(t, replay.Close())
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	assert.Equal(t, "ok", check)
	left, err := filepath.Glob(filepath.Join(path+".journal", "*.seg"))
	require.NoError(t, err)
	assert.Empty(t, left, "replayed journals are removed (child %d, me %d)", cmd.Process.Pid, os.Getpid())

	status := map[string]string{}
	rows, err := db.Query("SELECT id, status FROM steps")
	require.NoError(t, err)
	for rows.Next() {
		var id, st string
		require.NoError(t, rows.Scan(&id, &st))
		status[id] = st
	}
	require.NoError(t, rows.Err())
	rows.Close()
	// Every acknowledged message and step is an acknowledged reply.
	stored := map[string]bool{}
	rows, err = db.Query("SELECT id FROM messages")
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		stored[id] = true
	}
	require.NoError(t, rows.Err())
	rows.Close()
	missing := 0
	for id := range messages {
		if !stored[id] {
			missing++
		}
	}
	for id := range recorded {
		if status[id] != factory.StepOK {
			missing++
		}
	}
	assert.Zero(t, missing, "acknowledged steps lost or in an older state")

	// And the store opens again and keeps writing.
	s, err := traces.Open(context.Background(), traces.Config{Path: path})
	require.NoError(t, err)
	defer s.Close()
	latest, _, _, err := s.Run(context.Background(), "latest")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, latest.Steps, len(recorded))
	_, err = s.RecordStep(context.Background(), factory.Step{RunID: latest.ID, Tool: "after"})
	require.NoError(t, err)
}
