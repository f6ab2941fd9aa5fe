package proc

import (
	"fmt"
	"io"
	"sync"
)

// capture keeps the head and the tail of a stream within max bytes and
// counts everything; it tees all bytes to an optional writer.
type capture struct {
	mu    sync.Mutex
	max   int
	head  []byte
	tail  []byte // ring buffer of the last max-max/2 bytes once head is full
	tpos  int    // next write position in tail when it is full
	total int64
	tee   io.Writer
}

func newCapture(max int, tee io.Writer) *capture {
	return &capture{max: max, tee: tee}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	headMax := c.max / 2
	tailMax := c.max - headMax
	rest := p
	if n := headMax - len(c.head); n > 0 {
		n = min(n, len(rest))
		c.head = append(c.head, rest[:n]...)
		rest = rest[n:]
	}
	if len(rest) > tailMax {
		rest = rest[len(rest)-tailMax:]
		c.tail = append(c.tail[:0], rest...)
		c.tpos = 0
		rest = nil
	}
	for len(rest) > 0 {
		if len(c.tail) < tailMax {
			n := min(tailMax-len(c.tail), len(rest))
			c.tail = append(c.tail, rest[:n]...)
			rest = rest[n:]
			continue
		}
		n := copy(c.tail[c.tpos:], rest)
		c.tpos = (c.tpos + n) % tailMax
		rest = rest[n:]
	}
	if c.tee != nil {
		_, _ = c.tee.Write(p) // a failing tee must not break the capture
	}
	return len(p), nil
}

// bytes returns the kept output; when bytes were dropped, the head and the
// tail are joined by a line saying how many.
func (c *capture) bytes() (out []byte, truncated bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := int64(len(c.head) + len(c.tail))
	out = make([]byte, 0, kept+64)
	out = append(out, c.head...)
	if dropped := c.total - kept; dropped > 0 {
		truncated = true
		out = append(out, fmt.Sprintf("\n[factory: %d bytes dropped]\n", dropped)...)
	}
	out = append(out, c.tail[c.tpos:]...)
	out = append(out, c.tail[:c.tpos]...)
	return out, truncated
}
