//go:build !linux

package watch

// Watcher is the stand-in where inotify does not exist: it never vouches,
// so every capture walks the whole tree. (macOS's FSEvents is reachable
// only through cgo, which factory does not use.)
type Watcher struct{ cfg Config }

// New returns a watcher that never vouches.
func New(cfg Config) (*Watcher, error) {
	cfg.defaults()
	return &Watcher{cfg: cfg}, nil
}

// Close does nothing.
func (w *Watcher) Close() error { return nil }

// Begin never vouches: the capture walks everything.
func (w *Watcher) Begin() ([]string, bool) { return nil, false }

// Abort does nothing.
func (w *Watcher) Abort() {}

// Watch does nothing.
func (w *Watcher) Watch(string) {}

// Status says why there is no watcher.
func (w *Watcher) Status() string {
	return "no file watcher on this system (inotify is Linux's; FSEvents on macOS needs cgo): every snapshot walks the whole tree"
}

// Watched is always zero.
func (w *Watcher) Watched() int { return 0 }
