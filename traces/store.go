package traces

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/factory-dev/factory/traces/redact"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/factory-dev/factory"
	_ "github.com/mattn/go-sqlite3" // the SQLite driver; FTS5 with -tags sqlite_fts5
)

// DefaultPath returns the run log's path for the repository whose git
// directory is gitDir: <gitDir>/factory/factory.db.
func DefaultPath(gitDir string) string {
	return filepath.Join(gitDir, "factory", "factory.db")
}

// Config configures Open.
type Config struct {
	// Path is the database file. Required. Its directory is created (0700)
	// if missing.
	Path string
	// BusyTimeout is how long a write waits for another process holding the
	// write lock. Zero means 5s.
	BusyTimeout time.Duration
	// Logger receives migration and maintenance messages. Nil discards them.
	Logger *slog.Logger

	// noFTS forces the LIKE fallback even when FTS5 is compiled in (tests).
	noFTS bool
	// noJournal makes RecordStep wait for its commit instead of going
	// through the step journal, so that benchmarks measure what the
	// journal saves. Set from tests only.
	noJournal bool
	// readOnly opens the file with SQLite's mode=ro, as a read-only file
	// or file system would (tests: as root, chmod does not stop writes).
	readOnly bool
	// maxPages caps the file's size in pages (PRAGMA max_page_count), so
	// that SQLite itself reports a full disk (tests). Zero: no cap.
	maxPages int
}

// Limits on what one row stores. Longer text is cut and marked.
const (
	maxSummary = 4 << 10  // Step.Args, Step.Result, Step.Error
	maxMessage = 64 << 10 // Message.Text
	maxShort   = 512      // names, ids, labels
	maxBatch   = 1024     // writes per group commit
)

// Store is the run log. Its methods are safe for concurrent use. Concurrent
// callers' writes are committed together, one transaction at a time (group
// commit); a write method returns after the transaction holding its write
// committed.
type Store struct {
	path      string // the database file, for messages (see explainFault)
	log       *slog.Logger
	wdb       *sql.DB // one connection, used by the current leader (see write)
	rdb       *sql.DB // readers
	fts       bool    // FTS5 available and its indexes maintained
	ftsTables bool    // FTS5 indexes exist in the file (written by an FTS build)
	prep      [nStmt]*sql.Stmt

	// What cannot be recorded (see Notice).
	fault      error                 // why this is a stand-in (see OpenOrStandIn); nil for the real run log
	tmpDir     string                // a stand-in's directory, removed by Close
	writeFault atomic.Pointer[Fault] // of the last write, if it failed

	// Group commit (see write): writes wait in queue; one caller at a
	// time, the leader, commits a batch of them.
	wmu        sync.Mutex
	idle       *sync.Cond // on wmu: signalled when leading stops
	queue      []*op
	busy       bool // a leader is committing
	lastOthers int  // callers other than the leader who waited on the last transaction
	closed     bool

	dirtyMarked bool // leader only: fts_dirty set in this process

	ftsPending       atomic.Int64 // steps in fts_pending (see ftsSchema)
	ftsPendingAtOpen int64
	indexScheduled   atomic.Bool
	commitScheduled  atomic.Bool
	indexing         sync.Mutex // one indexSteps at a time

	commits, writes atomic.Int64 // transactions committed, writes in them

	jr *journal // the step journal of this process (see journal.go); nil without
}

// Open opens (creating if needed) the run log at cfg.Path, migrates its
// schema and prepares its statements. It returns EINVALID without a path;
// EUNAVAILABLE for a database written by a newer factory, and for a damaged
// file, one that cannot be written or a full disk (holding a *Fault that
// says which, and the fix); and EINTERNAL for any other failure to open or
// migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, factory.Errorf(factory.EINVALID, "open run log: no database path given")
	}
	s, err := open(ctx, cfg)
	return s, explainFault("opened", cfg.Path, err)
}

func open(ctx context.Context, cfg Config) (*Store, error) {
	const opName = "open run log"
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, factory.Wrap(opName, err)
	}
	s := &Store{log: cfg.Logger, path: cfg.Path}
	s.idle = sync.NewCond(&s.wmu)
	var err error
	if s.wdb, err = sql.Open("sqlite3", dsn(cfg.Path, cfg.BusyTimeout, "immediate", false)+cfg.testMode()); err != nil {
		return nil, factory.Wrap(opName, err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	fail := func(err error) (*Store, error) {
		s.wdb.Close()
		if s.rdb != nil {
			s.rdb.Close()
		}
		return nil, factory.Wrap(opName, err)
	}
	if err := s.wdb.PingContext(ctx); err != nil {
		return fail(err)
	}
	// Checkpoint every 32 MB of WAL rather than 4: a page rewritten by many
	// commits (the tail of every index) is copied back once per checkpoint,
	// and each checkpoint costs two fsyncs. Truncate the WAL back to 64 MB.
	if _, err := s.wdb.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 8192; PRAGMA journal_size_limit = 67108864`); err != nil {
		return fail(err)
	}
	if cfg.maxPages > 0 {
		if _, err := s.wdb.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, cfg.maxPages)); err != nil {
			return fail(err)
		}
	}
	if err := migrate(ctx, s.wdb); err != nil {
		return fail(err)
	}
	// A write that changes nothing: SQLite opens a file it may not write
	// read-only without a word, and a read-only run log must fail here,
	// where OpenOrStandIn can stand in for it, not at every later write.
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM meta WHERE 0`); err != nil {
		return fail(err)
	}
	if err := s.setupFTS(ctx, !cfg.noFTS); err != nil {
		return fail(err)
	}
	for i, q := range stmtSQL {
		if q == "" || (!s.fts && (strings.Contains(q, "_fts") || strings.Contains(q, "fts_pending"))) {
			continue
		}
		if s.prep[i], err = s.wdb.PrepareContext(ctx, q); err != nil {
			return fail(fmt.Errorf("prepare %q: %w", q, err))
		}
	}
	if s.rdb, err = sql.Open("sqlite3", dsn(cfg.Path, cfg.BusyTimeout, "deferred", true)+cfg.testMode()); err != nil {
		return fail(err)
	}
	s.rdb.SetMaxOpenConns(4)
	s.rdb.SetMaxIdleConns(4)
	if err := s.rdb.PingContext(ctx); err != nil {
		return fail(err)
	}
	s.ftsPending.Store(s.ftsPendingAtOpen) // left by a crash
	// Steps journaled by processes that died before committing them.
	if err := s.replayJournals(ctx, journalDir(cfg.Path)); err != nil {
		return fail(err)
	}
	if !cfg.noJournal && journalSupported {
		if s.jr, err = openJournal(journalDir(cfg.Path)); err != nil {
			return fail(fmt.Errorf("open step journal: %w", err))
		}
	}
	if err := s.indexSteps(); err != nil {
		return fail(err)
	}
	return s, nil
}

// dsn builds a go-sqlite3 data source name: WAL, synchronous=NORMAL (a
// commit survives a crash of the process, not necessarily of the machine),
// the busy timeout, and the lock BEGIN takes.
func dsn(path string, busy time.Duration, txlock string, queryOnly bool) string {
	abs, err := filepath.Abs(path)
	if err == nil {
		path = abs
	}
	v := url.Values{}
	v.Set("_journal_mode", "WAL")
	v.Set("_synchronous", "NORMAL")
	v.Set("_busy_timeout", fmt.Sprint(busy.Milliseconds()))
	v.Set("_txlock", txlock)
	v.Set("_cache_size", "-16000") // 16 MB of page cache per connection
	if queryOnly {
		v.Set("_query_only", "1")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + v.Encode()
}

// testMode is the DSN suffix of cfg.readOnly.
func (cfg Config) testMode() string {
	if cfg.readOnly {
		return "&mode=ro"
	}
	return ""
}

// setupFTS decides between FTS5 and the LIKE fallback, and brings the FTS5
// indexes up to date. A build without FTS5 cannot maintain indexes that an
// FTS5 build created; it leaves them alone and sets meta fts_dirty on its
// first write, and the next FTS5 build to open the file rebuilds them.
func (s *Store) setupFTS(ctx context.Context, want bool) error {
	var n int
	if err := s.wdb.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name IN ('steps_fts','messages_fts')`).Scan(&n); err != nil {
		return err
	}
	s.ftsTables = n == 2
	if !want {
		return nil
	}
	if _, err := s.wdb.ExecContext(ctx, `CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(x)`); err != nil {
		if strings.Contains(err.Error(), "no such module") {
			return nil // built without -tags sqlite_fts5
		}
		return fmt.Errorf("probe fts5: %w", err)
	}
	if _, err := s.wdb.ExecContext(ctx, `DROP TABLE temp.fts5_probe`); err != nil {
		return fmt.Errorf("probe fts5: %w", err)
	}
	s.fts = true
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var dirty, def string
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'fts_dirty'`).Scan(&dirty)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	err = tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'steps_fts'`).Scan(&def)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if s.ftsTables && dirty != "1" && strings.Contains(def, stepsFTSDef) {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM fts_pending`).Scan(&s.ftsPendingAtOpen)
	}
	start := time.Now()
	if def != "" && !strings.Contains(def, stepsFTSDef) {
		if _, err := tx.ExecContext(ctx, `DROP TABLE steps_fts`); err != nil {
			return fmt.Errorf("drop old fts5 index: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, ftsSchema); err != nil {
		return fmt.Errorf("create fts5 indexes: %w", err)
	}
	for _, q := range []string{
		`INSERT INTO steps_fts(steps_fts) VALUES('delete-all')`,
		`INSERT INTO steps_fts(rowid, tool, args, result, error) SELECT seq, tool, args, result, error FROM steps`,
		`DELETE FROM fts_pending`,
		`INSERT INTO messages_fts(messages_fts) VALUES('rebuild')`,
		`DELETE FROM meta WHERE key = 'fts_dirty'`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("rebuild fts5 indexes: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.ftsTables = true
	s.log.Debug("run log full-text index built", "dirty", dirty == "1", "elapsed", time.Since(start))
	return nil
}

// FTS reports whether full-text queries use FTS5 (true) or the LIKE
// fallback of a build without -tags sqlite_fts5 (false).
func (s *Store) FTS() bool { return s.fts }

// Close waits for pending writes to commit and closes the database. Writes after Close fail with EUNAVAILABLE. Close is idempotent.
func (s *Store) Close() error {
	if s.jr != nil {
		s.jr.stop() // RecordStep now writes synchronously
	}
	if err := s.flushQueued(); err != nil && factory.ErrorCode(err) != factory.EUNAVAILABLE {
		s.log.Warn("run log: committing queued writes at close", "err", err)
	}
	if err := s.indexSteps(); err != nil && factory.ErrorCode(err) != factory.EUNAVAILABLE {
		s.log.Warn("run log: indexing steps at close", "err", err)
	}
	s.wmu.Lock()
	if s.closed {
		s.wmu.Unlock()
		return nil
	}
	s.closed = true
	for s.busy {
		s.idle.Wait()
	}
	late := s.queue // queueOp calls that raced with Close
	s.queue = nil
	s.wmu.Unlock()
	for _, err := range s.commitBatch(late) {
		if err != nil {
			s.log.Warn("run log: queued write failed at close", "err", err)
		}
	}
	var errs []error
	for _, st := range s.prep {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, s.rdb.Close())
	if _, err := s.wdb.Exec("PRAGMA optimize"); err != nil {
		s.log.Debug("run log optimize", "err", err)
	}
	errs = append(errs, s.wdb.Close())
	if s.jr != nil {
		if kept := s.jr.close(); kept > 0 {
			s.log.Warn("run log: steps left in the step journal for the next open", "steps", kept)
		}
	}
	if s.tmpDir != "" {
		errs = append(errs, os.RemoveAll(s.tmpDir))
	}
	return factory.Wrap("close run log", errors.Join(errs...))
}

// Statements prepared once, on the write connection.
const (
	stInsRun = iota
	stEndRun
	stInsStep
	stInsStepIgnore
	stPending
	stInsMsg
	stFTSStep
	stFTSStepDel
	stFTSMsg
	nStmt
)

var stmtSQL = [nStmt]string{
	stInsRun: `INSERT INTO runs(id, name, workflow, client, root, started, ended) VALUES(?,?,?,?,?,?,?)`,
	stEndRun: `UPDATE runs SET ended = ? WHERE id = ?`,
	stInsStep: `INSERT INTO steps(id, run_id, parent_id, request_id, method, tool, args, result, status, error, started, duration, trace_id, span_id)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
	stInsStepIgnore: `INSERT INTO steps(id, run_id, parent_id, request_id, method, tool, args, result, status, error, started, duration, trace_id, span_id)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING`,
	stPending:    `INSERT INTO fts_pending(seq, indexed) VALUES(?, 0) ON CONFLICT(seq) DO NOTHING`,
	stInsMsg:     `INSERT INTO messages(run_id, step_id, kind, text, created) VALUES(?,?,?,?,?)`,
	stFTSStep:    `INSERT INTO steps_fts(rowid, tool, args, result, error) VALUES(?,?,?,?,?)`,
	stFTSStepDel: `DELETE FROM steps_fts WHERE rowid = ?`,
	stFTSMsg:     `INSERT INTO messages_fts(rowid, text) VALUES(?,?)`,
}

// op is one write waiting to be committed: fn, or the insert of a
// journaled step (one allocation per step, not a closure and a copy).
type op struct {
	fn    func(w *wtx) error
	step  factory.Step // without fn: the journaled step to insert
	seg   *segment     // and the journal segment holding it
	done  chan error   // nil for async
	async bool         // queued by queueOp: nobody waits for it
	quiet bool         // upkeep, not a caller (see writeQuiet)
}

func (o *op) run(w *wtx) error {
	if o.fn == nil {
		return w.s.ingestStep(w, &o.step, o.seg)
	}
	return o.fn(w)
}

// wtx is the write transaction, with statements bound to it lazily.
type wtx struct {
	ctx     context.Context
	tx      *sql.Tx
	s       *Store
	stmts   [nStmt]*sql.Stmt
	pending int64      // change to the number of rows in fts_pending
	segs    []*segment // journal segments of the journaled steps written
}

func (w *wtx) stmt(i int) *sql.Stmt {
	if w.stmts[i] == nil {
		w.stmts[i] = w.tx.StmtContext(w.ctx, w.s.prep[i])
	}
	return w.stmts[i]
}

// exec runs prepared statement i. Like every write of the run log, it
// goes through scrub: this is the one door to the database file.
func (w *wtx) exec(i int, args ...any) (sql.Result, error) {
	return w.stmt(i).ExecContext(w.ctx, scrub(args)...)
}

// queryRow runs prepared statement i for one row, its arguments scrubbed.
func (w *wtx) queryRow(i int, args ...any) *sql.Row {
	return w.stmt(i).QueryRowContext(w.ctx, scrub(args)...)
}

// execSQL runs query in the transaction, its arguments scrubbed.
func (w *wtx) execSQL(query string, args ...any) (sql.Result, error) {
	return w.tx.ExecContext(w.ctx, query, scrub(args)...)
}

// scrub passes every text and byte argument of a write through the
// redactor (redact.Stored), so that no caller can store a secret by
// forgetting to redact: callers redact before capping text (clean), and
// scrub catches what they did not. Redacted text is left as it is, and
// text without a hint costs one scan.
func scrub(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = redact.Stored(v)
		case []byte:
			if r := redact.Stored(string(v)); r != string(v) {
				args[i] = []byte(r)
			}
		}
	}
	return args
}

// errLead tells a queued writer that its write is not done and that it is
// now the leader.
var errLead = errors.New("lead")

// commitDelay is how long a leader waits for company when other callers
// waited on the previous transaction. Measured on 2 cores with 32 callers:
// 100-150 µs quadruples the writes per transaction and raises throughput
// by a fifth to a half; 300 µs costs more latency than it saves.
const commitDelay = 100 * time.Microsecond

// asyncDelay bounds how long an op queued by queueOp waits for a transaction
// when no other write comes. A commit's fixed cost (WAL frames for every
// index page touched) is shared by the steps queued meanwhile: at 50 ms
// instead of 10 the background commits of a busy server cost half the
// CPU, which on 2 cores is taken from the requests being served.
const asyncDelay = 50 * time.Millisecond

// write runs fn in a transaction and returns once that transaction
// committed (or failed).
//
// Group commit: writes queue up; while one caller (the leader) commits a
// batch, others queue behind it; when the leader is done it hands the lead
// to the oldest queued caller, who commits everything queued so far in one
// transaction. A lone caller commits its own write on its own goroutine,
// with no hand-off; concurrent callers share transactions. FIFO order is
// kept, so a write never commits before one queued earlier.
//
// A cancelled ctx does not abandon a write: the run log must record
// cancelled requests too, and a write is bounded by the busy timeout.
func (s *Store) write(fn func(w *wtx) error) error {
	return s.submit(&op{fn: fn, done: make(chan error, 1)})
}

// writeQuiet is write for the Store's own upkeep (indexing, flushing
// queued writes): it does not count as company for commitDelay.
func (s *Store) writeQuiet(fn func(w *wtx) error) error {
	return s.submit(&op{fn: fn, done: make(chan error, 1), quiet: true})
}

func (s *Store) submit(o *op) error {
	s.wmu.Lock()
	if s.closed {
		s.wmu.Unlock()
		return factory.Errorf(factory.EUNAVAILABLE, "the run log is closed")
	}
	s.queue = append(s.queue, o)
	if s.busy {
		s.wmu.Unlock()
		if err := <-o.done; err != errLead {
			return err
		}
		s.wmu.Lock() // the lead passed to us
	}
	s.busy = true
	if s.lastOthers > 0 && len(s.queue) < maxBatch {
		// Other callers were waiting on the last transaction: give them a
		// moment to queue their next writes, for a larger transaction
		// (PostgreSQL's commit_delay). A lone caller never waits.
		s.wmu.Unlock()
		time.Sleep(commitDelay)
		s.wmu.Lock()
	}
	var mine error
	committed := false
	for {
		// Commit from the head of the queue (FIFO) until our write is in;
		// then hand the lead to the next caller who waits, or commit the
		// writes queued by queueOp, which nobody waits for, ourselves.
		n := min(len(s.queue), maxBatch)
		batch := make([]*op, n)
		copy(batch, s.queue)
		s.queue = append(s.queue[:0:0], s.queue[n:]...)
		s.lastOthers = 0
		for _, b := range batch {
			if !b.async && !b.quiet && b != o {
				s.lastOthers++
			}
		}
		s.wmu.Unlock()
		errs := s.commitBatch(batch)
		for i, b := range batch {
			switch {
			case b == o:
				mine, committed = errs[i], true
			case b.async:
				if errs[i] != nil {
					s.log.Warn("run log: queued write failed", "err", errs[i])
				}
			default:
				b.done <- errs[i]
			}
		}
		s.wmu.Lock()
		if !committed {
			continue
		}
		if len(s.queue) == 0 {
			s.busy = false
			s.idle.Broadcast()
			break
		}
		if i := slices.IndexFunc(s.queue, func(q *op) bool { return !q.async }); i >= 0 {
			s.queue[i].done <- errLead
			break
		}
		// Only queueOp writes are left (a stream of journaled steps):
		// commit them on a goroutine of our own rather than keep this
		// caller committing for as long as the stream lasts.
		s.busy = false
		s.idle.Broadcast()
		go func() {
			if err := s.flushQueued(); err != nil && factory.ErrorCode(err) != factory.EUNAVAILABLE {
				s.log.Warn("run log: committing queued writes", "err", err)
			}
		}()
		break
	}
	s.wmu.Unlock()
	return mine
}

// queueOp queues an async op (a journaled step) and returns at once, with
// the length of the queue. The op commits with the next transaction: the
// next write's, or one started within asyncDelay. Since writes commit in
// order, once any later write returned, the op committed too. A failure is
// logged. It returns EUNAVAILABLE after Close.
func (s *Store) queueOp(o *op) (int, error) {
	s.wmu.Lock()
	if s.closed {
		s.wmu.Unlock()
		return 0, factory.Errorf(factory.EUNAVAILABLE, "the run log is closed")
	}
	s.queue = append(s.queue, o)
	n := len(s.queue)
	s.wmu.Unlock()
	if !s.commitScheduled.Swap(true) {
		time.AfterFunc(asyncDelay, func() {
			s.commitScheduled.Store(false)
			if err := s.flushQueued(); err != nil && factory.ErrorCode(err) != factory.EUNAVAILABLE {
				s.log.Warn("run log: committing queued writes", "err", err)
			}
		})
	}
	return n, nil
}

// flushQueued commits the writes queued by queueOp, if any: reads call
// it first, so that a caller reads its own writes.
func (s *Store) flushQueued() error {
	s.wmu.Lock()
	n, busy := len(s.queue), s.busy
	s.wmu.Unlock()
	if n == 0 && !busy {
		return nil
	}
	return s.writeQuiet(func(*wtx) error { return nil })
}

// commitBatch commits the batch in one transaction and returns each
// write's error. If a write fails, the transaction is rolled back and each
// write is retried alone, so that only the faulty one reports an error.
func (s *Store) commitBatch(batch []*op) []error {
	errs := make([]error, len(batch))
	if len(batch) == 0 {
		return errs
	}
	err := explainFault("written", s.path, s.commit(batch)) // a full disk says so, not "internal error"
	s.noteWrite(err)
	if err == nil || len(batch) == 1 {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, o := range batch {
		errs[i] = explainFault("written", s.path, s.commit([]*op{o}))
	}
	return errs
}

// commit runs the batch's writes in one transaction.
func (s *Store) commit(batch []*op) error {
	ctx := context.Background() // no Done channel: go-sqlite3 then starts no watcher goroutine
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return factory.Wrap("run log: begin", err)
	}
	w := &wtx{ctx: ctx, tx: tx, s: s}
	for _, o := range batch {
		if err := o.run(w); err != nil {
			tx.Rollback()
			return err
		}
	}
	if s.ftsTables && !s.fts && !s.dirtyMarked {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('fts_dirty', '1') ON CONFLICT(key) DO UPDATE SET value = '1'`); err != nil {
			tx.Rollback()
			return factory.Wrap("run log: mark fts dirty", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return factory.Wrap("run log: commit", err)
	}
	if s.ftsTables && !s.fts {
		s.dirtyMarked = true
	}
	for _, seg := range w.segs {
		s.jr.done(seg, 1)
	}
	s.commits.Add(1)
	s.writes.Add(int64(len(batch)))
	if w.pending != 0 && s.ftsPending.Add(w.pending) > 0 && w.pending > 0 {
		s.scheduleIndex()
	}
	return nil
}

// Indexing of pending steps (see ftsSchema).
const (
	// indexDelay is how long pending steps may wait while nobody searches:
	// an FTS5 transaction costs more than its rows, so fewer, larger ones.
	indexDelay = 200 * time.Millisecond
	indexBatch = 10000 // steps per indexing transaction
)

// scheduleIndex arranges for indexSteps to run soon, once.
func (s *Store) scheduleIndex() {
	if s.indexScheduled.Swap(true) {
		return
	}
	time.AfterFunc(indexDelay, func() {
		s.indexScheduled.Store(false)
		if err := s.indexSteps(); err != nil && factory.ErrorCode(err) != factory.EUNAVAILABLE {
			s.log.Warn("run log: indexing steps for full-text search", "err", err)
		}
	})
}

// indexSteps moves every pending step into steps_fts, through the write
// path (so in order with all other writes), indexBatch steps per
// transaction. It is a no-op without FTS5 or with nothing pending.
func (s *Store) indexSteps() error {
	if !s.fts {
		return nil
	}
	s.indexing.Lock()
	defer s.indexing.Unlock()
	// Index what is pending now, not what keeps arriving: a steady stream
	// of writes would otherwise keep this loop committing tiny batches.
	// Each pass takes up to indexBatch of the oldest pending steps, so
	// passes enough for the count now cover every step pending now.
	for passes := s.ftsPending.Load()/indexBatch + 1; passes > 0 && s.ftsPending.Load() > 0; passes-- {
		n := 0
		err := s.writeQuiet(func(w *wtx) error {
			var err error
			n, err = s.indexPending(w)
			return err
		})
		if err != nil {
			return factory.Wrap("index steps", err)
		}
		if n == 0 {
			s.ftsPending.Store(0) // the count drifted (a failed write); the table is empty
		}
	}
	return nil
}

// indexPending indexes up to indexBatch pending steps, oldest first.
func (s *Store) indexPending(w *wtx) (int, error) {
	type row struct {
		seq                        int64
		indexed, exists            bool
		tool, args, result, errTxt string
	}
	rs, err := w.tx.QueryContext(w.ctx, `SELECT p.seq, p.indexed, s.seq IS NOT NULL,
		coalesce(s.tool, ''), coalesce(s.args, ''), coalesce(s.result, ''), coalesce(s.error, '')
		FROM fts_pending p LEFT JOIN steps s ON s.seq = p.seq ORDER BY p.seq LIMIT ?`, indexBatch)
	if err != nil {
		return 0, err
	}
	var rows []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.seq, &r.indexed, &r.exists, &r.tool, &r.args, &r.result, &r.errTxt); err != nil {
			rs.Close()
			return 0, err
		}
		rows = append(rows, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil || len(rows) == 0 {
		return 0, err
	}
	for _, r := range rows {
		if r.indexed {
			if _, err := w.exec(stFTSStepDel, r.seq); err != nil {
				return 0, err
			}
		}
		if r.exists {
			if _, err := w.exec(stFTSStep, r.seq, r.tool, r.args, r.result, r.errTxt); err != nil {
				return 0, err
			}
		}
	}
	if _, err := w.execSQL(`DELETE FROM fts_pending WHERE seq <= ?`, rows[len(rows)-1].seq); err != nil {
		return 0, err
	}
	w.pending -= int64(len(rows))
	return len(rows), nil
}

// capText cuts s to at most n bytes (on a rune boundary), saying how much
// was cut.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	suffix := fmt.Sprintf("…[truncated: %d bytes in all]", len(s))
	cut := n - len(suffix)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + suffix
}

// clean redacts text and caps it at n bytes. Text is cut to 16n first so
// that a huge result does not go through every pattern; a secret cut in
// half at that point is then far past the final cap.
func clean(s string, n int, isJSON bool) string {
	if len(s) > 16*n {
		cut := 16 * n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if isJSON {
		s = redact.JSON(s)
	} else {
		s = redact.Text(s)
	}
	return capText(s, n)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
