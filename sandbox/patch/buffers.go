package patch

import "sync"

// The bytes a patch reads and the contents it computes in one pass are
// cut from chunks that go back to a pool once the patch is written, so a
// patch of many files does not hand the collector its whole size in new
// memory each time (about half of what a 600-file apply allocated). Only
// Write gives them back: by then no node, report or error refers to them.
// A failed or dry Prepare leaves its chunks to the collector.

const chunkSize = 1 << 20

var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// arena hands out buffers cut from pooled chunks.
type arena struct {
	mu    sync.Mutex
	free  []byte    // the unused end of the current chunk
	taken []*[]byte // every chunk cut from, to give back
}

// alloc returns an empty buffer of capacity n: cut from a chunk, or made
// on its own when n is a large share of one. Its bytes are not zeroed.
func (a *arena) alloc(n int) []byte {
	if n > chunkSize/8 {
		return make([]byte, 0, n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.free) < n {
		c := chunks.Get().(*[]byte)
		a.taken = append(a.taken, c)
		a.free = *c
	}
	b := a.free[:0:n]
	a.free = a.free[n:]
	return b
}

// release gives every chunk back: nothing cut from them may be used after.
func (a *arena) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.taken {
		chunks.Put(c)
	}
	a.taken, a.free = nil, nil
}
