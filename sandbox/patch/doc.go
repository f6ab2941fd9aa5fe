// Package patch parses unified diffs (git-style and traditional) and applies
// them to a directory tree all or nothing, through an *os.Root.
//
// It owns: tolerant pre-parsing (hunk headers recounted from their bodies,
// a/ b/ prefixes resolved, CRLF patches read as LF), parsing with
// bluekeyes/go-gitdiff, path safety checks done before any write, hunks
// placed by sandbox/patch/hunks (at the nearest exact offset, fuzz only
// when asked, per-hunk conflict reports), and atomic per-file replacement
// with rollback: a new
// file staged beside each one and exchanged with it (renameat2 on Linux, so
// the old file can be checked once more after the swap and swapped back),
// or renamed over it where the file system cannot exchange. Creating a
// file is the dearest step, so in each directory only the first write of
// an existing regular file gets a new file: the next is written into the
// old file the previous exchange took out, once that is checked to be the
// very file read, with no other name (a hard link could lead outside the
// workspace), owned by this process's user and group and without extended
// attributes, as a new file would be, and open nowhere else (a write lease
// is granted only then, and held until the file's own swap, so nobody
// writes to it in between): a program that held the old file open keeps
// it, and its later writes reach no file of the tree, as with a fresh file.
// Its undo writes the old content anew. A crash leaves each file old or
// new, and staged .factory-patch-* files beside them (one per directory
// being swapped, plus one per new file or symlink). Prepare and Write
// split Apply around whatever the caller must
// do in between (a lock, a snapshot); Write refuses any file changed since
// it was read.
//
// It needs no git repository. It imports the root package factory,
// sandbox/patch/hunks, the standard library, golang.org/x/sys/unix and
// go-gitdiff only; it never imports sandbox or any other factory package.
package patch
