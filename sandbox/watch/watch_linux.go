//go:build linux

package watch

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mask is what a directory watch reports: every change to an entry's
// content, metadata or name. IN_DONT_FOLLOW keeps a symlink to a directory
// from being watched as if it were one; IN_ONLYDIR refuses anything else.
const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MODIFY | unix.IN_ATTRIB |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF |
	unix.IN_DONT_FOLLOW | unix.IN_ONLYDIR

// Watcher watches the directories of one working tree with inotify. It is
// safe for concurrent use.
type Watcher struct {
	cfg  Config
	fd   int    // the inotify instance (non-blocking)
	stop [2]int // a pipe: closing the write end stops the reader
	done chan struct{}
	once sync.Once // Close
	err  error     // of Close

	mu      sync.Mutex
	dirs    map[int32]string // watch descriptor -> directory ("" or "a/b/")
	byPath  map[string]int32
	touched map[string]struct{}
	valid   bool   // touched is complete since the last Begin
	broken  string // why the watcher stopped for good ("" while it works)
	buf     []byte
}

// New starts a watcher for cfg.Root. It watches nothing until the first
// capture arms its directories, and does not vouch for that capture.
func New(cfg Config) (*Watcher, error) {
	cfg.defaults()
	if !filepath.IsAbs(cfg.Root) {
		return nil, fmt.Errorf("watch: root %q is not absolute", cfg.Root)
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("watch: inotify_init1: %w", err)
	}
	w := &Watcher{cfg: cfg, fd: fd, done: make(chan struct{}),
		dirs: map[int32]string{}, byPath: map[string]int32{}, touched: map[string]struct{}{},
		buf: make([]byte, 64<<10)}
	if err := unix.Pipe2(w.stop[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch: pipe: %w", err)
	}
	go w.run()
	return w, nil
}

// Close stops the watcher and releases its watches. Closing again does
// nothing (the descriptors may belong to someone else by then).
func (w *Watcher) Close() error {
	w.once.Do(func() {
		unix.Close(w.stop[1])
		<-w.done
		unix.Close(w.stop[0])
		w.err = unix.Close(w.fd)
	})
	return w.err
}

// run drains the kernel queue as events arrive, so that it does not
// overflow between two captures.
func (w *Watcher) run() {
	defer close(w.done)
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}, {Fd: int32(w.stop[0]), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err != nil && err != unix.EINTR {
			w.mu.Lock()
			w.stopFor("poll: " + err.Error())
			w.mu.Unlock()
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents != 0 {
			w.mu.Lock()
			w.drain()
			w.mu.Unlock()
		}
	}
}

// Begin starts a capture: it returns the paths touched since the previous
// Begin (relative to the root, slash-separated) and whether the watcher
// vouches that nothing else changed. Events from now on count for the
// next capture.
func (w *Watcher) Begin() ([]string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Everything written before this call is already in the kernel's
	// queue (inotify queues events in the writer's system call).
	w.drain()
	ok := w.valid && w.broken == ""
	var out []string
	if ok {
		out = make([]string, 0, len(w.touched))
		for p := range w.touched {
			out = append(out, p)
		}
	}
	clear(w.touched)
	w.valid = w.broken == ""
	return out, ok
}

// Abort says the capture begun last did not finish: what it read is not
// a base the next capture may build on.
func (w *Watcher) Abort() {
	w.mu.Lock()
	w.invalidate()
	w.mu.Unlock()
}

// Watch arms the watch on directory rel ("" for the root, else "a/b/")
// before the capture reads it. A directory it cannot watch makes the next
// capture walk everything; at the kernel's watch limit the watcher stops.
func (w *Watcher) Watch(rel string) {
	// The system call runs outside the lock, so that the walk's parallel
	// goroutines arm their directories at once. An event the reader drains
	// before the map below knows its descriptor is dropped, which is safe:
	// it happened before the walk lists the directory, so the walk sees it.
	wd, err := unix.InotifyAddWatch(w.fd, filepath.Join(w.cfg.Root, filepath.FromSlash(rel)), mask)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken != "" {
		if err == nil {
			unix.InotifyRmWatch(w.fd, uint32(wd))
		}
		return
	}
	if errors.Is(err, unix.ENOSPC) {
		w.stopFor("the kernel's inotify watch limit is reached (fs.inotify.max_user_watches); raise it (sysctl fs.inotify.max_user_watches=524288) and restart serve")
		return
	}
	if err != nil {
		// Gone, or no longer a directory: the walk finds out too. Not
		// vouching costs one full walk; vouching wrongly a wrong tree.
		w.invalidate()
		return
	}
	id := int32(wd)
	if old, ok := w.dirs[id]; ok && old != rel {
		delete(w.byPath, old)
	}
	if prev, ok := w.byPath[rel]; ok && prev != id {
		delete(w.dirs, prev)
		unix.InotifyRmWatch(w.fd, uint32(prev))
	}
	w.dirs[id] = rel
	w.byPath[rel] = id
}

// Status says why the watcher does not work, or "" when it does.
func (w *Watcher) Status() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.broken
}

// Watched is how many directories are watched.
func (w *Watcher) Watched() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.dirs)
}

// stopFor gives up for good, logging why once. Caller holds mu.
func (w *Watcher) stopFor(why string) {
	if w.broken != "" {
		return
	}
	w.broken = why
	w.cfg.Logger.Warn("workspace watcher off: every snapshot walks the whole tree", "root", w.cfg.Root, "why", why, "watched", len(w.dirs))
	for wd := range w.dirs {
		unix.InotifyRmWatch(w.fd, uint32(wd))
	}
	clear(w.dirs)
	clear(w.byPath)
	w.invalidate()
}

// invalidate drops the touched set: the next capture walks everything.
// Caller holds mu.
func (w *Watcher) invalidate() {
	w.valid = false
	clear(w.touched)
}

// drain reads every queued event. Caller holds mu.
func (w *Watcher) drain() {
	for {
		n, err := unix.Read(w.fd, w.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return // EAGAIN: the queue is empty
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&w.buf[off]))
			nameEnd := off + unix.SizeofInotifyEvent + int(ev.Len)
			name := strings.TrimRight(string(w.buf[off+unix.SizeofInotifyEvent:nameEnd]), "\x00")
			w.event(ev.Wd, ev.Mask, name)
			off = nameEnd
		}
	}
}

// event records one inotify event. Caller holds mu.
func (w *Watcher) event(wd int32, m uint32, name string) {
	if m&unix.IN_Q_OVERFLOW != 0 {
		w.invalidate()
		return
	}
	dir, ok := w.dirs[wd]
	if !ok {
		return // a watch removed since the event was queued
	}
	if m&unix.IN_IGNORED != 0 {
		delete(w.dirs, wd)
		if w.byPath[dir] == wd {
			delete(w.byPath, dir)
		}
		return
	}
	if name == "" {
		// About the directory itself: its parent reports the same with
		// a name, except for the root.
		if dir == "" && m&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0 {
			w.invalidate()
		}
		return
	}
	p := joinRel(dir, name)
	if m&unix.IN_ISDIR != 0 && m&unix.IN_MOVED_FROM != 0 {
		w.unwatchBelow(p + "/")
	}
	if !w.valid {
		return
	}
	w.touched[p] = struct{}{}
	if len(w.touched) > w.cfg.QueueSize {
		w.invalidate()
	}
}

// unwatchBelow drops the watches of a directory that moved away (and of
// its subdirectories): their paths are stale. The capture re-walks the
// directory where it landed, arming it again. Caller holds mu.
func (w *Watcher) unwatchBelow(prefix string) {
	for p, wd := range w.byPath {
		if strings.HasPrefix(p, prefix) {
			unix.InotifyRmWatch(w.fd, uint32(wd))
			delete(w.byPath, p)
			delete(w.dirs, wd)
		}
	}
}
