package traces

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/factory-dev/factory"
)

// Fault is a run log that cannot be used: where it is, what happened and
// what fixes it. It travels inside an EUNAVAILABLE *factory.Error, so
// callers that only show messages need not know it; doctor and the stand-in
// notice take it apart with errors.As.
type Fault struct {
	Path  string // the database file
	Op    string // "opened" or "written"
	Cause string // what happened, as a sentence: "the file is damaged (...)"
	Fix   string // what the user does about it
	Err   error  // the error SQLite or the file system returned
}

func (f *Fault) Error() string {
	return "the run log at " + f.Path + " could not be " + f.Op + ": " + f.Cause + "; " + f.Fix
}

func (f *Fault) Unwrap() error { return f.Err }

// explainFault turns a failure to open (op "opened") or write (op "written")
// the run log at path into an EUNAVAILABLE error holding a *Fault when it
// is one the user can fix: a damaged file, a file or directory that cannot
// be written, or a full disk. Any other error is returned as it is.
func explainFault(op, path string, err error) error {
	if err == nil {
		return nil
	}
	class := sqliteClass(err)
	msg := strings.ToLower(err.Error())
	f := &Fault{Path: path, Op: op, Err: err}
	switch {
	case class == sqlDamaged,
		strings.Contains(msg, "file is not a database"), strings.Contains(msg, "malformed"):
		f.Cause = "the file is damaged (not a readable SQLite database)"
		f.Fix = "move it aside (mv " + path + " " + path + ".broken) and factory makes a new one at the next start"
	case class == sqlFull, errors.Is(err, syscall.ENOSPC),
		strings.Contains(msg, "disk is full"), strings.Contains(msg, "no space left"):
		f.Cause = "the disk is full (ENOSPC: no space left on device)"
		f.Fix = "free space on the disk holding " + filepath.Dir(path) + ", or pass --db (or set FACTORY_DB) to a path on another disk"
	case class == sqlUnwritable,
		errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM),
		strings.Contains(msg, "readonly"), strings.Contains(msg, "read-only"):
		f.Cause = "the file or its directory cannot be written (permission denied, or a read-only file system)"
		f.Fix = "make both writable (chmod u+w " + path + " " + filepath.Dir(path) + "), or pass --db (or set FACTORY_DB) to a writable path"
	default:
		return err
	}
	return &factory.Error{Code: factory.EUNAVAILABLE, Message: f.Error(), Err: f}
}

// OpenOrStandIn opens the run log as Open does. When it cannot be opened
// (a damaged file, a read-only one, a full disk, a newer schema) the tools
// must still run, so it opens a stand-in run log in a new temporary
// directory instead, removed by Close, and the stand-in's Fault says why.
// It fails only when the stand-in cannot be opened either.
func OpenOrStandIn(ctx context.Context, cfg Config) (*Store, error) {
	s, err := Open(ctx, cfg)
	if err == nil {
		return s, nil
	}
	fault := err
	if !errors.As(err, new(*Fault)) {
		// A newer schema says what to do itself; for anything else the
		// cause is the error as it is, which is all there is to go on.
		f := &Fault{Path: cfg.Path, Op: "opened", Cause: err.Error(), Err: err,
			Fix: "run factory doctor, and move the file aside if the message does not say what else to do"}
		fault = &factory.Error{Code: factory.EUNAVAILABLE, Message: f.Error(), Err: f}
	}
	tmp, terr := os.MkdirTemp("", "factory-runlog-*")
	if terr != nil {
		return nil, errors.Join(fault, terr)
	}
	stand := cfg
	stand.Path = filepath.Join(tmp, "factory.db")
	stand.readOnly, stand.maxPages = false, 0 // test faults aim at the real file
	if s, err = Open(ctx, stand); err != nil {
		os.RemoveAll(tmp)
		return nil, errors.Join(fault, err)
	}
	s.fault, s.tmpDir = fault, tmp
	s.log.Error("the run log cannot be used; steps go to a temporary run log, lost at exit", "cause", factory.ErrorMessage(fault))
	return s, nil
}

// Fault is nil for a run log that opened; for a stand-in (OpenOrStandIn)
// it is why the real one could not be used: EUNAVAILABLE holding a *Fault
// that names the path, the cause and the fix.
func (s *Store) Fault() error { return s.fault }

// Notice is what every tool result adds while the run log cannot record
// it, so that the agent knows its calls are not kept: "" for a run log that
// works. A stand-in says why the real run log could not be opened; a run
// log whose last write failed (a disk that filled up) says that, until a
// write succeeds again.
func (s *Store) Notice() string {
	var f *Fault
	if errors.As(s.fault, &f) { // OpenOrStandIn always sets a *Fault
		return "notice: the run log at " + f.Path + " could not be opened: " + f.Cause +
			"; this call was not recorded there, only in a temporary run log that is lost when factory exits; " + f.Fix
	}
	if f = s.writeFault.Load(); f != nil {
		return "notice: the run log at " + f.Path + " could not be written: " + f.Cause +
			"; this call and the ones before it since then may not be recorded; " + f.Fix
	}
	return ""
}

// noteWrite keeps the fault of the last write for Notice, or forgets it
// once a write succeeds. Leader only (see write).
func (s *Store) noteWrite(err error) {
	var f *Fault
	switch {
	case errors.As(err, &f):
		s.writeFault.Store(f)
	case err == nil && s.writeFault.Load() != nil:
		s.writeFault.Store(nil)
	}
}

// What an SQLite error means to the user (sqliteClass).
const (
	sqlOther = iota
	sqlDamaged
	sqlFull
	sqlUnwritable
)
