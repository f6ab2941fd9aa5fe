package testrun

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/factory-dev/factory"
)

// progressEvery is the least time between two progress calls (≤ 2/s).
const progressEvery = 500 * time.Millisecond

// progress counts finished tests in a suite's live output and calls the
// caller's function, rate-limited. A nil *progress does nothing.
type progress struct {
	fn func(done, total int, msg string)

	mu      sync.Mutex
	last    time.Time
	done    int
	failed  int
	partial []byte
	format  string
}

func newProgress(fn func(done, total int, msg string)) *progress {
	if fn == nil {
		return nil
	}
	return &progress{fn: fn}
}

// watcher returns the writer proc tees the suite's stdout into.
func (p *progress) watcher(format string) *progressWriter {
	p.format = format
	return &progressWriter{p}
}

type progressWriter struct{ p *progress }

func (w *progressWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	data := append(p.partial, b...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		p.count(data[:i])
		data = data[i+1:]
	}
	if len(data) > 4096 { // a line that long is output, not a result
		data = nil
	}
	p.partial = append(p.partial[:0], data...)
	call := time.Since(p.last) >= progressEvery && p.done > 0
	var done, failed int
	if call {
		p.last = time.Now()
		done, failed = p.done, p.failed
	}
	p.mu.Unlock()
	if call {
		p.fn(done, 0, fmt.Sprintf("%d tests finished, %d failed", done, failed))
	}
	return len(b), nil
}

var (
	goTestEnd  = [][]byte{[]byte(`"Action":"pass"`), []byte(`"Action":"fail"`), []byte(`"Action":"skip"`)}
	goHasTest  = []byte(`"Test":`)
	goFailMark = []byte(`"Action":"fail"`)
)

// count looks at one line of output for the end of a test.
func (p *progress) count(line []byte) {
	switch p.format {
	case factory.FormatGoJSON:
		if !bytes.Contains(line, goHasTest) {
			return
		}
		for _, m := range goTestEnd {
			if bytes.Contains(line, m) {
				p.done++
				if bytes.Equal(m, goFailMark) {
					p.failed++
				}
				return
			}
		}
	case factory.FormatTAP:
		t := bytes.TrimSpace(line)
		switch {
		case bytes.HasPrefix(t, []byte("not ok")):
			p.done++
			p.failed++
		case bytes.HasPrefix(t, []byte("ok")):
			p.done++
		}
	}
}

// final reports the end of the run, whatever the rate limit says.
func (p *progress) final(rep factory.TestReport) {
	if p == nil {
		return
	}
	p.fn(rep.Counts.Total, rep.Counts.Total, fmt.Sprintf("%s: %d passed, %d failed, %d skipped",
		rep.Status, rep.Counts.Passed, rep.Counts.Failed, rep.Counts.Skipped))
}
