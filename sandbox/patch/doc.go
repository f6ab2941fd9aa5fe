// Package patch parses unified diffs (git-style and traditional) and applies
// them to a directory tree all or nothing, through an *os.Root.
//
// It owns: tolerant pre-parsing (hunk headers recounted from their bodies,
// a/ b/ prefixes resolved, CRLF patches read as LF), parsing with
// bluekeyes/go-gitdiff, path safety checks done before any write, exact hunk
// matching with the nearest exact offset (fuzz only when asked), per-hunk
// conflict reports, and atomic per-file replacement with rollback: a new
// file staged beside each one and exchanged with it (renameat2 on Linux, so
// the old file can be checked once more after the swap and swapped back),
// or renamed over it where the file system cannot exchange. Prepare and
// Write split Apply around whatever the caller must do in between (a lock,
// a snapshot); Write refuses any file changed since it was read.
//
// It needs no git repository. It imports the root package factory, the
// standard library, golang.org/x/sys/unix and go-gitdiff only; it never
// imports sandbox or any other factory package.
package patch
