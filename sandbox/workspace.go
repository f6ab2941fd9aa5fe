package sandbox

import (
	"log/slog"
	"sync"

	"github.com/factory-dev/factory/sandbox/copies"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/watch"
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
	// Watch makes snapshots of the live tree re-read only what a file
	// watcher saw touched since the previous one (sandbox/watch); the
	// workspace must then be closed. False means every snapshot walks the
	// tree. cmd/factory serve sets it; one-shot commands do not.
	Watch bool
	// WatchQueue is the watcher's QueueSize (touched paths held between
	// two snapshots before it gives up and the next snapshot walks
	// everything). Zero means the watcher's default.
	WatchQueue int
}

// Workspace is one git working tree and its object store. It is safe for
// concurrent use.
type Workspace struct {
	cfg    Config
	root   string // absolute, symlinks resolved: the top of the working tree
	gitDir string // absolute path of the repository's git dir (.git)

	store *gitstore.Store // the object database and its caches
	snap  snapState       // the snapshot engine's caches (snapshot.go)

	copies *copies.Maker  // isolated copies and the cache of materialised trees
	watch  *watch.Watcher // nil unless Config.Watch

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

// Close stops the file watcher, if any. The workspace stays usable; its
// snapshots walk the whole tree from then on.
func (w *Workspace) Close() error {
	if w.watch == nil {
		return nil
	}
	return w.watch.Close()
}

// Watched is how many directories the file watcher watches: 0 when there
// is none (Config.Watch off, or the watcher gave up: see WatchStatus).
func (w *Workspace) Watched() int {
	if w.watch == nil || w.watch.Status() != "" {
		return 0
	}
	return w.watch.Watched()
}

// WatchStatus says why snapshots walk the whole tree although Config.Watch
// asked for a watcher ("" when it works or was not asked for).
func (w *Workspace) WatchStatus() string {
	if w.watch == nil {
		return ""
	}
	return w.watch.Status()
}
