package traces

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/factory-dev/factory"
)

// The step journal: RecordStep encodes the step as one record into a
// memory-mapped segment file of this process (MAP_SHARED: the bytes are
// the kernel's page cache, so they survive the death of the process with
// no system call per step), and hands the insert to the group-commit queue
// (queueOp), which commits it within asyncDelay. Open replays the
// segments of dead processes. See doc.go.
//
// Files: <db>.journal/<pid>-<random>.seg, each segSize bytes. A process
// holds flock(LOCK_EX) on each of its segments until it removes it, so an
// opener can tell a dead writer's segment (lock free) from a live one.
// When the current segment is full it is sealed and a new one started (or,
// if all its steps committed, removed at once); a sealed segment is
// removed once all its steps committed.
//
// Segment layout: segMagic, then records, each at an 8-byte boundary:
//
//	u32 n (little endian)  u32 CRC-32C of the payload  payload (n bytes)  zero padding
//
// A zero n ends the records (the file is created all zeros). The
// writer fills the payload and the checksum first and stores n last, with
// an atomic store: at any instant a record is either complete or absent,
// whenever the writer dies. The checksum catches what that order cannot
// (a torn page after a power loss, a damaged file); replay stops there.
//
// Payload: the step's strings (ID, RunID, ParentID, RequestID, Method,
// Tool, Args, Result, Status, Error, Snapshot, TraceID, SpanID), each a
// uvarint length and its bytes, then Started and Duration as varints.
// Binary, not JSON lines as before: encoding it costs a tenth, and it is
// written straight into the mapping.

// segSize is the size of a segment: a few thousand steps of ordinary size,
// and room for the largest one (three capped texts and short fields).
const segSize = 4 << 20

// segMagic starts every segment; its last byte is the format version.
const segMagic = "factory-journal\x01"

// firstRecord is where a segment's first record starts: after the magic,
// at an 8-byte boundary.
const firstRecord = (len(segMagic) + 7) &^ 7

// maxBacklog is the number of journaled steps waiting for SQLite beyond
// which RecordStep waits for the queue to drain (back-pressure).
const maxBacklog = 50000

// replayBatch is the number of records replayed per transaction.
const replayBatch = 500

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// stepStrings lists a step's string fields in payload order. The eleventh
// field is always empty, and read into spare: a record keeps the layout of
// segMagic's version, so segments left by any process of this version
// replay.
func stepStrings(st *factory.Step, spare *string) [13]*string {
	return [13]*string{&st.ID, &st.RunID, &st.ParentID, &st.RequestID, &st.Method, &st.Tool,
		&st.Args, &st.Result, &st.Status, &st.Error, spare, &st.TraceID, &st.SpanID}
}

// payloadSize is the length of st's payload.
func payloadSize(st *factory.Step) int {
	n := varintLen(nanos(st.Started)) + varintLen(int64(st.Duration))
	var empty string
	for _, f := range stepStrings(st, &empty) {
		n += uvarintLen(uint64(len(*f))) + len(*f)
	}
	return n
}

// encodePayload writes st's payload into b, which is payloadSize(st) long.
func encodePayload(b []byte, st *factory.Step) {
	i := 0
	var empty string
	for _, f := range stepStrings(st, &empty) {
		i += binary.PutUvarint(b[i:], uint64(len(*f)))
		i += copy(b[i:], *f)
	}
	i += binary.PutVarint(b[i:], nanos(st.Started))
	binary.PutVarint(b[i:], int64(st.Duration))
}

// decodePayload is the inverse of encodePayload.
func decodePayload(b []byte) (factory.Step, error) {
	var st factory.Step
	var spare string
	for _, f := range stepStrings(&st, &spare) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return factory.Step{}, errors.New("bad string field")
		}
		*f = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	started, k := binary.Varint(b)
	if k <= 0 {
		return factory.Step{}, errors.New("bad start time")
	}
	dur, k2 := binary.Varint(b[k:])
	if k2 <= 0 || k+k2 != len(b) {
		return factory.Step{}, errors.New("bad duration")
	}
	st.Started, st.Duration = fromNanos(started), time.Duration(dur)
	return st, nil
}

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

func varintLen(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}

// recordSize is the room a record with an n-byte payload takes.
func recordSize(n int) int { return 8 + (n+7)&^7 }

// putRecord writes st as a record at the start of b (recordSize long),
// its length last.
func putRecord(b []byte, st *factory.Step, n int) {
	encodePayload(b[8:8+n], st)
	binary.LittleEndian.PutUint32(b[4:8], crc32.Checksum(b[8:8+n], castagnoli))
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[0])), uint32(n))
}

// segment is one journal file of this process, mapped.
type segment struct {
	f         *os.File
	path      string
	mem       []byte        // the mapping, segSize bytes
	populated chan struct{} // made by the first append, closed when the pages are faulted in (prefault)
	off       int           // where the next record goes
	pending   int64         // records appended whose step has not committed
	sealed    bool          // no longer appended to: removed when pending reaches 0
}

// remove unmaps, closes (unlocking) and removes the segment.
func (seg *segment) remove() {
	os.Remove(seg.path)
	seg.release()
}

// release unmaps and closes the segment, leaving the file.
func (seg *segment) release() {
	if seg.populated != nil {
		<-seg.populated
	}
	if seg.mem != nil {
		unmapSegment(seg.mem)
		seg.mem = nil
	}
	seg.f.Close()
}

// journal is this process's step journal. Its mutex orders appends with
// sealing and removal, so that no record is lost.
type journal struct {
	dir    string
	mu     sync.Mutex
	cur    *segment
	sealed []*segment
	closed bool // appends refused (stop or close)
	gone   bool // files released (close)
	made   int  // segments started, for tests
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

// newSegment creates a segment under a temporary name, locks it, sizes
// and maps it, writes the magic, then renames it to its .seg name: a
// replaying opener never sees a segment that is not yet locked.
func (j *journal) newSegment() (*segment, error) {
	name := fmt.Sprintf("%d-%s", os.Getpid(), factory.NewID(""))
	tmp := filepath.Join(j.dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	seg := &segment{f: f, path: tmp}
	fail := func(err error) (*segment, error) {
		seg.remove()
		return nil, err
	}
	if err := lockSegment(f); err != nil {
		return fail(err)
	}
	if err := reserve(f, segSize); err != nil {
		return fail(err)
	}
	if seg.mem, err = mapSegment(f, segSize); err != nil {
		return fail(fmt.Errorf("map step journal: %w", err))
	}
	copy(seg.mem, segMagic)
	seg.off = firstRecord
	path := filepath.Join(j.dir, name+".seg")
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	seg.path = path
	j.made++
	return seg, nil
}

// prefault faults the mapping's pages in, writable, on a goroutine of its
// own (prefaultPages says how, per platform). The first store into each
// page of a shared mapping is a page fault (about 5 us on a VM), which
// would otherwise fall on the step that crosses into the page, once every
// few steps of ordinary size. It starts with a segment's first step, so
// that a command that records nothing does not pay for it.
func (seg *segment) prefault() {
	defer close(seg.populated)
	prefaultPages(seg.mem)
}

// writeZeros allocates size bytes of f by writing them: the way to reserve
// space on a file system that offers no call for it.
func writeZeros(f *os.File, size int64) error {
	zeros := make([]byte, 64<<10)
	for off := int64(0); off < size; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), size-off)], off); err != nil {
			return err
		}
	}
	return nil
}

// errTooBig refuses a step too large for a segment (none is, with the
// caps of prepareStep): the caller writes it synchronously.
var errTooBig = errors.New("step too large for the journal")

// append writes st as one record and returns the segment that holds it.
func (j *journal) append(st *factory.Step) (*segment, error) {
	n := payloadSize(st)
	size := recordSize(n)
	if size > segSize-firstRecord {
		return nil, errTooBig
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, factory.Errorf(factory.EUNAVAILABLE, "the run log is closed")
	}
	seg := j.cur
	if seg.off+size > segSize {
		next, err := j.newSegment()
		if err != nil {
			return nil, err
		}
		if seg.pending == 0 {
			seg.remove()
		} else {
			seg.sealed = true
			j.sealed = append(j.sealed, seg)
		}
		j.cur, seg = next, next
	}
	if seg.populated == nil { // the first step here: a process that records steps
		seg.populated = make(chan struct{})
		go seg.prefault()
	}
	putRecord(seg.mem[seg.off:seg.off+size], st, n)
	seg.off += size
	seg.pending++
	return seg, nil
}

// done records that n steps of seg committed: a sealed segment with
// nothing pending is removed.
func (j *journal) done(seg *segment, n int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	seg.pending -= n
	if seg.pending > 0 || !seg.sealed || j.gone {
		return
	}
	seg.remove()
	for i, s := range j.sealed {
		if s == seg {
			j.sealed = append(j.sealed[:i], j.sealed[i+1:]...)
			break
		}
	}
}

// close stops appends, removes every segment whose steps all committed
// and releases (unlocking) the others, which the next Open replays.
func (j *journal) close() (kept int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.gone {
		return 0
	}
	j.closed, j.gone = true, true
	for _, seg := range append(j.sealed, j.cur) {
		if seg.pending == 0 {
			seg.remove()
		} else {
			seg.release()
		}
		kept += seg.pending
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
// false when the journal could not take the step (closed, or a failure to
// start a segment, which is logged): the caller then writes it
// synchronously.
func (s *Store) journalStep(st *factory.Step) bool {
	seg, err := s.jr.append(st)
	if err != nil {
		if factory.ErrorCode(err) != factory.EUNAVAILABLE {
			s.log.Warn("run log: cannot append to the step journal; writing synchronously", "err", err)
		}
		return false
	}
	n, err := s.queueOp(&op{step: *st, seg: seg, async: true})
	if err != nil {
		// Closed meanwhile: the record stays in the journal for the next Open.
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
		st.Args, st.Result, st.Status, st.Error, nanos(st.Started), int64(st.Duration),
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
	return s.markPending(w, seq)
}

// replayJournals replays, then removes, every journal segment in dir
// whose writer is gone (its lock can be taken).
func (s *Store) replayJournals(ctx context.Context, dir string) error {
	if !journalSupported {
		return nil // segments from a unix machine are left for it: nothing here can lock them
	}
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
		if !isTmp && !strings.HasSuffix(name, ".seg") {
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
	if err := lockSegment(f); err != nil {
		if errors.Is(err, errSegmentBusy) {
			return nil // its writer is alive
		}
		return err
	}
	if onlyRemove { // a segment its writer died before naming: nothing in it yet
		return ignoreNotExist(os.Remove(path))
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(data, []byte(segMagic)) {
		// Not a segment, or of a format this version does not read: leave
		// it for the version that wrote it.
		s.log.Warn("run log: not a step journal this version reads; left in place", "file", path)
		return nil
	}
	steps, bad := readSegment(data)
	if bad != "" {
		s.log.Warn("run log: step journal damaged; replaying the records before the damage", "file", path, "steps", len(steps), "damage", bad)
	}
	for b := range slices.Chunk(steps, replayBatch) {
		err := s.writeQuiet(func(w *wtx) error {
			for i := range b {
				if err := s.ingestStep(w, &b[i], nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	s.log.Debug("run log: replayed a step journal", "file", path, "steps", len(steps))
	return ignoreNotExist(os.Remove(path))
}

// readSegment decodes the records of a segment (which starts with
// segMagic), up to the first zero length. bad says what stopped it early:
// a record past the end, a checksum or payload that does not match.
func readSegment(data []byte) (steps []factory.Step, bad string) {
	off := firstRecord
	for off+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		if n == 0 {
			return steps, ""
		}
		if off+recordSize(n) > len(data) {
			return steps, fmt.Sprintf("record at %d runs past the end", off)
		}
		payload := data[off+8 : off+8+n]
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(data[off+4:]) {
			return steps, fmt.Sprintf("checksum of the record at %d", off)
		}
		st, err := decodePayload(payload)
		if err != nil {
			return steps, fmt.Sprintf("record at %d: %v", off, err)
		}
		steps = append(steps, st)
		off += recordSize(n)
	}
	return steps, ""
}

func ignoreNotExist(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
