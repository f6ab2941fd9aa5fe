package tools

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/report"
)

// Reading a kept output: a test log is megabytes (one failing run's was
// 5.8 MB), which no agent can read whole, so it is read a window at a time.
const (
	defaultLogLines = 400       // a test log's window when the reader names none
	maxLogLines     = 5000      // the largest window
	maxReadBytes    = 256 << 10 // a window stops here whatever its lines
	maxGrepLen      = 200
)

// logQuery is how a kept output is read: offset and limit (lines), grep (a
// Go regexp: matching lines), test (one test's output, test logs only).
// windowed is set when the reader gave offset, limit or grep; a test log
// is always read a window at a time, a diff read without them is returned
// whole, as it always was.
type logQuery struct {
	offset, limit int
	grep          *regexp.Regexp
	test          string
	windowed      bool
}

// parseLogQuery splits uri into its base (no query) and its query, which
// it checks: the parameters come from the agent.
func parseLogQuery(uri string) (string, logQuery, error) {
	q := logQuery{}
	base, raw, _ := strings.Cut(uri, "?")
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return "", q, factory.Errorf(factory.EINVALID, "resource %q: the query is not readable (%v): use ?offset=N&limit=N&grep=REGEXP&test=NAME", uri, err)
	}
	for k := range vals {
		switch k {
		case "offset", "limit", "grep", "test":
		default:
			return "", q, factory.Errorf(factory.EINVALID, "resource %q: unknown parameter %q: use offset, limit, grep or test", uri, k)
		}
	}
	num := func(name string, def, max int) (int, error) {
		v := vals.Get(name)
		if v == "" {
			return def, nil
		}
		q.windowed = true
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > max {
			return 0, factory.Errorf(factory.EINVALID, "resource %q: %s %q must be a whole number from 0 to %d", uri, name, v, max)
		}
		return n, nil
	}
	if q.offset, err = num("offset", 0, 1<<30); err != nil {
		return "", q, err
	}
	if q.limit, err = num("limit", defaultLogLines, maxLogLines); err != nil {
		return "", q, err
	}
	if g := vals.Get("grep"); g != "" {
		if len(g) > maxGrepLen {
			return "", q, factory.Errorf(factory.EINVALID, "resource %q: grep is %d characters, at most %d", uri, len(g), maxGrepLen)
		}
		if q.grep, err = regexp.Compile(g); err != nil {
			return "", q, factory.Errorf(factory.EINVALID, "resource %q: grep %q is not a Go regular expression (%v): give a word or a pattern such as FAIL|panic", uri, g, err)
		}
		q.windowed = true
	}
	q.test = vals.Get("test")
	return base, q, nil
}

// view renders data (a test log as text, see report.ReadableLog) and
// returns the window q asks for, with a last line saying where the rest is
// when it does not end the output.
func (q logQuery) view(data []byte, kind string) string {
	if kind == "test-log" {
		data = report.ReadableLog(data, q.test)
	}
	if !q.windowed && kind != "test-log" { // a test log is read a window at a time
		return string(data)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	type line struct {
		at   int
		text string
	}
	picked := make([]line, 0, len(lines))
	for i, l := range lines {
		if q.grep == nil || q.grep.MatchString(l) {
			picked = append(picked, line{i, l})
		}
	}
	var b strings.Builder
	end := q.offset
	for _, l := range picked[min(q.offset, len(picked)):] {
		if end-q.offset >= q.limit || (b.Len() > 0 && b.Len()+len(l.text) > maxReadBytes) {
			break
		}
		if q.grep != nil {
			fmt.Fprintf(&b, "%d: ", l.at)
		}
		end++
		if len(l.text) > maxReadBytes { // one line alone over the budget: its head, or reading never moves on
			fmt.Fprintf(&b, "%s\n[factory: line %d is %d bytes; cut at %d]\n", l.text[:maxReadBytes], l.at, len(l.text), maxReadBytes)
			break
		}
		b.WriteString(l.text)
	}
	what := "lines"
	if q.grep != nil {
		what = "matching lines"
	}
	switch {
	case len(picked) == 0:
		fmt.Fprintf(&b, "[factory: no %s]\n", what)
	case end < len(picked):
		if !strings.HasSuffix(b.String(), "\n") && b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "[factory: %s %d-%d of %d; read on with ?offset=%d (also limit, grep, test)]\n", what, q.offset, end, len(picked), end)
	}
	return b.String()
}
