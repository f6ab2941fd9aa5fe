//go:build cgo

package traces

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// sqliteClass sorts an error of the SQLite driver by what the user can do
// about it; sqlOther for any other error.
func sqliteClass(err error) int {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return sqlOther
	}
	switch se.Code {
	case sqlite3.ErrNotADB, sqlite3.ErrCorrupt:
		return sqlDamaged
	case sqlite3.ErrFull:
		return sqlFull
	case sqlite3.ErrReadonly, sqlite3.ErrPerm, sqlite3.ErrCantOpen:
		return sqlUnwritable
	}
	return sqlOther
}
