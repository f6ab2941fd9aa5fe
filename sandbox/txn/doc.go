// Package txn writes a set of file changes into a directory tree through
// os.Root, all or nothing: every replaced or deleted entry is first moved
// (or hard-linked) into a backup directory, so a failure midway puts back
// the very same files (inodes, modes and mtimes) in reverse order.
//
// Apply refuses to start when the disk no longer holds what the caller
// last saw at a path (Op.Cur), or when a write would have to remove an
// ignored file, one no snapshot holds; either way nothing is written.
// Deletions go first, deepest first, then the directories they emptied;
// writes are staged beside their target and renamed into place.
//
// txn imports the root package factory, sandbox/gitstore (for Entry) and
// go-git's plumbing only. It never imports sandbox, the facade above it.
package txn
