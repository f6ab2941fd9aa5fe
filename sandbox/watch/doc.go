// Package watch tells the snapshot capture which paths of a working tree
// were touched since the previous capture, so that a snapshot re-reads
// only those instead of walking the whole tree. It vouches for nothing it
// did not see: whenever it cannot be sure, Begin says so and the capture
// does the full walk, so correctness never depends on the watcher.
//
// On Linux it uses inotify (golang.org/x/sys/unix); elsewhere New returns
// a watcher that never vouches (on macOS, FSEvents is reachable only
// through cgo, which factory does not use), so every capture walks.
//
// The capture drives it (gitstore.Watcher is the consumer's interface):
// Begin at the start of each capture of the live tree returns the paths
// touched since the previous Begin and whether the watcher vouches that
// nothing else changed; Watch arms a directory before the walk reads it,
// so no edit slips between reading and watching; Abort says a capture
// failed. The watcher refuses to vouch (and the full walk runs) after:
//   - its start: the first capture after New always walks everything;
//   - a kernel queue overflow (IN_Q_OVERFLOW), or more touched paths
//     between two captures than Config.QueueSize (a rename storm, a
//     checkout, a build writing into unignored folders);
//   - a directory it could not watch; at the kernel's limit
//     (fs.inotify.max_user_watches, ENOSPC) it logs once, stops watching
//     for good and Status says so (raise the limit and restart serve);
//   - the workspace's top directory moved or deleted;
//   - a capture that failed (Abort).
//
// Memory: inotify charges each watched directory to the user's
// max_user_watches. The kernel counts a watch as its mark plus the cost of
// keeping the directory's inode in memory, about 1.3 KiB on a 64-bit
// kernel (that is how it sizes the default limit: 1% of RAM), and this
// process keeps two map entries per directory (its path: about 100 bytes
// plus the path's length). 2,000 directories cost about 2.6 MiB of kernel
// memory and 300 KiB here; 10,000 (the 100,000-file benchmark) 13 MiB and
// 1.5 MiB. Only
// directories the capture walks are watched: never .git, never an ignored
// directory without tracked files (a .gitignore change makes the capture
// re-walk its directory, and the walk arms whatever became visible).
//
// What inotify cannot see, and so neither can the watcher: writes through
// a shared memory mapping (mmap), and writes to a file of the tree through
// a hard link that lives outside it. Network filesystems do not report
// remote writes.
//
// watch imports golang.org/x/sys/unix and the standard library only.
package watch
