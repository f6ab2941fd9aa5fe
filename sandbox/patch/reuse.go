package patch

import "errors"

// errNotReusable says a file taken out by an exchange may not hold the
// next write of its directory: a new file is made instead.
var errNotReusable = errors.New("the file taken out cannot be reused")

// A reused file is opened and written through its descriptor (reuse and
// rewrite, per system), and it stays open, with the write lease that
// proved nobody else had it open, until its exchange is done: whoever
// opens it by its temporary name meanwhile waits for the lease (or, not
// waiting, is refused), so what the exchange puts in place is what was
// written. A program that holds the old file open across the patch keeps
// the file it had, and its later writes reach no file of the tree, as
// with a fresh file.

// released closes s's reused file, if it is still open: after its
// exchange, or when the write stops before it.
func (s *staged) released() {
	if s.held != nil {
		s.held.close()
		s.held = nil
	}
}
