// Package gitstore is a repository's object database as the snapshot
// engine needs it, without running git: loose-object writes, object and
// tree reads with their caches, the index reader, ignore rules (in
// gitignore), the capture walk that computes the tree `git add -A` would write (with a git-CLI
// fallback for features it does not model), refs read from files, and tree
// comparison (DiffTrees). With a Watcher (sandbox/watch provides one), a
// capture of the working tree re-reads only what was touched since the
// previous one (incremental.go).
//
// A Store owns every cache of one git dir; nothing is process-wide.
// gitstore imports the root package factory, sandbox/proc (for the git
// fallback), sandbox/textdiff and go-git. It never writes the user's index,
// HEAD, branches or files.
package gitstore
