//go:build sqlite_fts5 || fts5

package traces_test

func init() { builtWithFTS5 = true }
