package traces

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/factory-dev/factory"
)

// The step journal: RecordStep appends the step, as one JSON line written
// with one write(2), to a journal file of this process, and hands the
// insert to the group-commit queue (writeAsync), which commits it within
// asyncDelay. A line in the kernel's page cache survives the death of the
// process; Open replays the journals of dead processes. See doc.go.
//
// Files: <db>.journal/<pid>-<random>.jsonl, each a segment. A process
// holds flock(LOCK_EX) on each of its segments until it removes it, so an
// opener can tell a dead writer's segment (lock free) from a live one.
// When the current segment grows past journalMax it is sealed and a new
// one started; a sealed segment is removed once all its steps committed,
// and the current one is truncated when all its steps committed and it is
// past journalMax.

// journalMax is the size past which a segment is truncated or sealed.
const journalMax = 1 << 20

// maxBacklog is the number of journaled steps waiting for SQLite beyond
// which RecordStep waits for the queue to drain (back-pressure).
const maxBacklog = 50000

// replayBatch is the number of journal lines replayed per transaction.
const replayBatch = 500

// jline is a journal line: the stored fields of a step.
type jline struct {
	ID        string `json:"id"`
	RunID     string `json:"run"`
	ParentID  string `json:"parent,omitempty"`
	RequestID string `json:"req,omitempty"`
	Method    string `json:"method,omitempty"`
	Tool      string `json:"tool,omitempty"`
	Args      string `json:"args,omitempty"`
	Result    string `json:"result,omitempty"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	Snapshot  string `json:"snap,omitempty"`
	Started   int64  `json:"started"`
	Duration  int64  `json:"dur,omitempty"`
	TraceID   string `json:"trace,omitempty"`
	SpanID    string `json:"span,omitempty"`
}

func toLine(st *factory.Step) jline {
	return jline{st.ID, st.RunID, st.ParentID, st.RequestID, st.Method, st.Tool, st.Args, st.Result,
		st.Status, st.Error, st.Snapshot, nanos(st.Started), int64(st.Duration), st.TraceID, st.SpanID}
}

func (l *jline) step() factory.Step {
	return factory.Step{ID: l.ID, RunID: l.RunID, ParentID: l.ParentID, RequestID: l.RequestID,
		Method: l.Method, Tool: l.Tool, Args: l.Args, Result: l.Result, Status: l.Status, Error: l.Error,
		Snapshot: l.Snapshot, Started: fromNanos(l.Started), Duration: time.Duration(l.Duration),
		TraceID: l.TraceID, SpanID: l.SpanID}
}

// segment is one journal file of this process.
type segment struct {
	f       *os.File
	path    string
	size    int64
	pending int64 // lines appended whose step has not committed
	sealed  bool  // no longer appended to: removed when pending reaches 0
}

// journal is this process's step journal. Its mutex orders appends with
// truncation and sealing, so that no line is lost.
type journal struct {
	dir    string
	mu     sync.Mutex
	cur    *segment
	sealed []*segment
	closed bool // appends refused (stop or close)
	gone   bool // files closed (close)
}

// journalDir is where the journals of the database at path live.
func journalDir(path string) string { return path + ".journal" }

// openJournal creates this process's first segment in dir.
func openJournal(dir string) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	j := &journal{dir: dir}
	seg, err := j.newSegment()
	if err != nil {
		return nil, err
	}
	j.cur = seg
	return j, nil
}

// newSegment creates a segment under a temporary name, locks it, then
// renames it to its .jsonl name: a replaying opener never sees a segment
// that is not yet locked.
func (j *journal) newSegment() (*segment, error) {
	name := fmt.Sprintf("%d-%s", os.Getpid(), newID(""))
	tmp := filepath.Join(j.dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	path := filepath.Join(j.dir, name+".jsonl")
	if err := os.Rename(tmp, path); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	return &segment{f: f, path: path}, nil
}

// append writes line (ending in a newline) with one write(2) and returns
// the segment that holds it. A failed or short write is cut off again, so
// that the next line starts on a line of its own.
func (j *journal) append(line []byte) (*segment, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, factory.Errorf(factory.EUNAVAILABLE, "the run log is closed")
	}
	seg := j.cur
	if seg.size > journalMax {
		if seg.pending == 0 {
			if err := seg.f.Truncate(0); err != nil {
				return nil, err
			}
			seg.size = 0
		} else if next, err := j.newSegment(); err == nil {
			seg.sealed = true
			j.sealed = append(j.sealed, seg)
			j.cur, seg = next, next
		} // else keep appending to the big one
	}
	n, err := seg.f.Write(line)
	if err != nil {
		if n > 0 {
			seg.f.Truncate(seg.size)
		}
		return nil, err
	}
	seg.size += int64(n)
	seg.pending++
	return seg, nil
}

// done records that n steps of seg committed: a sealed segment with
// nothing pending is removed, the current one truncated when past
// journalMax.
func (j *journal) done(seg *segment, n int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	seg.pending -= n
	if seg.pending > 0 || j.gone {
		return
	}
	if seg.sealed {
		os.Remove(seg.path)
		seg.f.Close()
		for i, s := range j.sealed {
			if s == seg {
				j.sealed = append(j.sealed[:i], j.sealed[i+1:]...)
				break
			}
		}
		return
	}
	if seg.size > journalMax {
		if err := seg.f.Truncate(0); err == nil {
			seg.size = 0
		}
	}
}

// close stops appends, removes every segment whose steps all committed
// and closes (unlocking) the others, which the next Open replays.
func (j *journal) close() (kept int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.gone {
		return 0
	}
	j.closed, j.gone = true, true
	for _, seg := range append(j.sealed, j.cur) {
		if seg.pending == 0 {
			os.Remove(seg.path)
		}
		kept += seg.pending
		seg.f.Close()
	}
	j.sealed, j.cur = nil, nil
	return kept
}

// stop refuses further appends (RecordStep then writes synchronously),
// before Close drains the queue.
func (j *journal) stop() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
}

// journalStep appends st to the journal and queues its insert. It reports
// false when the journal could not take the step (closed, or a write
// error, which is logged): the caller then writes it synchronously.
func (s *Store) journalStep(st factory.Step) bool {
	line, err := json.Marshal(toLine(&st))
	if err != nil {
		return false
	}
	line = append(line, '\n')
	seg, err := s.jr.append(line)
	if err != nil {
		if factory.ErrorCode(err) != factory.EUNAVAILABLE {
			s.log.Warn("run log: cannot append to the step journal; writing synchronously", "err", err)
		}
		return false
	}
	n, err := s.writeAsyncN(func(w *wtx) error { return s.ingestStep(w, &st, seg) })
	if err != nil {
		// Closed meanwhile: the line stays in the journal for the next Open.
		return true
	}
	if n > maxBacklog {
		if err := s.flushQueued(); err != nil && factory.ErrorCode(err) != factory.EUNAVAILABLE {
			s.log.Warn("run log: draining the step queue", "err", err)
		}
	}
	return true
}

// ingestStep inserts a journaled step unless its id is stored already
// (a replay, or a caller's id that is taken: the first step stays).
func (s *Store) ingestStep(w *wtx, st *factory.Step, seg *segment) error {
	res, err := w.exec(stInsStepIgnore, st.ID, st.RunID, st.ParentID, st.RequestID, st.Method, st.Tool,
		st.Args, st.Result, st.Status, st.Error, st.Snapshot, nanos(st.Started), int64(st.Duration),
		st.TraceID, st.SpanID)
	if err != nil {
		return err
	}
	if seg != nil {
		w.segs = append(w.segs, seg)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 && seg != nil {
		// Not a replay: the caller gave an id that is taken.
		s.log.Warn("run log: step id already taken; the step recorded first is kept", "step", st.ID)
	}
	if err != nil || n == 0 || !s.fts {
		return err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return err
	}
	return s.markPending(w, seq, false)
}

// replayJournals replays, then removes, every journal segment in dir
// whose writer is gone (its lock can be taken). A torn last line (the
// writer died in the middle of a write) and unreadable lines are skipped.
func (s *Store) replayJournals(ctx context.Context, dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		isTmp := strings.HasSuffix(name, ".tmp")
		if !isTmp && !strings.HasSuffix(name, ".jsonl") {
			continue
		}
		if err := s.replayFile(ctx, filepath.Join(dir, name), isTmp); err != nil {
			return fmt.Errorf("replay step journal %s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) replayFile(ctx context.Context, path string, onlyRemove bool) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil // another opener replayed it
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil // its writer is alive
		}
		return err
	}
	if onlyRemove { // a segment its writer died before naming: empty
		return ignoreNotExist(os.Remove(path))
	}
	var batch []factory.Step
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b := batch
		batch = nil
		return s.writeQuiet(func(w *wtx) error {
			for i := range b {
				if err := s.ingestStep(w, &b[i], nil); err != nil {
					return err
				}
			}
			return nil
		})
	}
	r := bufio.NewReaderSize(f, 64<<10)
	replayed, skipped := 0, 0
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(bytes.TrimSpace(line)) > 0 {
				skipped++ // torn last line: its RecordStep never returned
			}
			break
		}
		if err != nil {
			return err
		}
		var l jline
		if err := json.Unmarshal(line, &l); err != nil || l.ID == "" {
			skipped++
			continue
		}
		batch = append(batch, l.step())
		replayed++
		if len(batch) >= replayBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	s.log.Debug("run log: replayed a step journal", "file", path, "steps", replayed, "skipped", skipped)
	return ignoreNotExist(os.Remove(path))
}

func ignoreNotExist(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
