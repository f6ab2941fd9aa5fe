package traces

import (
	"errors"
	"strings"
	"syscall"

	"github.com/factory-dev/factory"
	"github.com/mattn/go-sqlite3"
)

// Explain says what a failure to open or write the run log at path means
// and what to do about it: a damaged file, a file or directory that cannot
// be written, or a full disk. The result is EUNAVAILABLE with that message;
// any other error is returned as it is.
func Explain(path string, err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	isSQL := errors.As(err, &se)
	msg := strings.ToLower(err.Error())
	switch {
	case isSQL && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt),
		strings.Contains(msg, "file is not a database"), strings.Contains(msg, "malformed"):
		return factory.Errorf(factory.EUNAVAILABLE, "the run log %s is damaged (not a readable SQLite database); move it aside (mv %s %s.broken) and factory makes a new one", path, path, path)
	case isSQL && se.Code == sqlite3.ErrFull, errors.Is(err, syscall.ENOSPC),
		strings.Contains(msg, "disk is full"), strings.Contains(msg, "no space left"):
		return factory.Errorf(factory.EUNAVAILABLE, "the disk holding the run log %s is full (ENOSPC: no space left on device); free space there, or pass --db with a path on another disk", path)
	case isSQL && (se.Code == sqlite3.ErrReadonly || se.Code == sqlite3.ErrPerm), errors.Is(err, syscall.EROFS),
		errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM), strings.Contains(msg, "readonly"), strings.Contains(msg, "read-only"):
		return factory.Errorf(factory.EUNAVAILABLE, "the run log %s cannot be written (permission denied or a read-only file system); make the file and its directory writable (chmod u+w), or pass --db with a writable path", path)
	}
	return err
}
