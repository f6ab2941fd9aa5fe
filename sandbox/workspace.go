package sandbox

import (
	"log/slog"
	"sync"

	"github.com/factory-dev/factory/sandbox/copies"
	"github.com/factory-dev/factory/sandbox/gitstore"
)

// Config configures a Workspace.
type Config struct {
	// Root is a directory inside a git repository's working tree. The
	// workspace is the top of that working tree. Required.
	Root string
	// Keep is how many unlabelled snapshots retention keeps (newest first);
	// labelled snapshots are always kept. Zero means 500.
	Keep int
	// TempDir is where isolated copies are made. Empty means os.TempDir().
	TempDir string
	// Logger receives diagnostics. Nil means slog.Default().
	Logger *slog.Logger
	// Redact removes secrets from snapshot labels before they are written
	// into commit messages (the object store keeps them for good). Nil
	// keeps labels as given; cmd/factory passes the run log's redactor.
	Redact func(string) string
}

// Workspace is one git working tree and its object store. It is safe for
// concurrent use.
type Workspace struct {
	cfg    Config
	root   string // absolute, symlinks resolved: the top of the working tree
	gitDir string // absolute path of the repository's git dir (.git)

	store *gitstore.Store // the object database and its caches
	snap  snapState       // the snapshot engine's caches (snapshot.go)

	copies *copies.Maker // isolated copies and the cache of materialised trees

	land sync.Mutex // held while a change lands (LockLanding, commit.go)

	// Set by tests and benchmarks to compare with the slower ways:
	noFastOverlay bool // captures of overlay copies take the full walk
	noOverlay     bool // copies are plain copies
	noIncremental bool // overlay copies materialise their own tree
	hooks         struct {
		write       func(op, path string) error // before each write or delete of a transaction; may fail it
		beforeApply func()                      // after the undo snapshot, before the disk is checked
	}
}

// Root returns the absolute path of the working tree's top directory.
func (w *Workspace) Root() string { return w.root }

// GitDir returns the absolute path of the repository's git directory.
func (w *Workspace) GitDir() string { return w.gitDir }
