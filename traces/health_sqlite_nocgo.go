//go:build !cgo

package traces

// sqliteClass has no driver errors to sort without cgo: the SQLite driver
// is then a stub whose every call fails, and explainFault falls back on
// the messages. Built only for the cross-platform type check.
func sqliteClass(error) int { return sqlOther }
