package report

import (
	"bytes"
	"encoding/json"
	"strings"
)

// ReadableLog renders a test run's stored log as a person reads it: the
// output of `go test -json` events becomes the `go test -v` text they carry
// (=== RUN, the test's own lines, --- FAIL), other events (run, pass, ...)
// are dropped, and lines that are not JSON events (factory's separators,
// the command lines, stderr, other formats' output) are kept as they are.
//
// With test set, only the output of that test and its subtests is kept,
// with factory's separators so that the reader sees which run (first run,
// rerun) it came from; test may be the name ("TestX", "TestX/sub") or the
// package-qualified name report.Key gives ("example.com/p.TestX").
func ReadableLog(log []byte, test string) []byte {
	var out bytes.Buffer
	out.Grow(len(log) / 3)
	for len(log) > 0 {
		line := log
		if i := bytes.IndexByte(log, '\n'); i >= 0 {
			line, log = log[:i+1], log[i+1:]
		} else {
			log = nil
		}
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] == '{' {
			var e struct{ Action, Package, Test, Output string }
			if json.Unmarshal(t, &e) == nil && e.Action != "" {
				if e.Action == "output" && (test == "" || testMatches(e.Package, e.Test, test)) {
					out.WriteString(e.Output)
				}
				continue
			}
		}
		if test == "" || bytes.HasPrefix(line, []byte("=== factory: ")) || bytes.HasPrefix(t, []byte("=== factory: ")) {
			out.Write(line)
		}
	}
	return out.Bytes()
}

// testMatches reports whether the event of test name in pkg belongs to the
// test want or one of its subtests.
func testMatches(pkg, name, want string) bool {
	if name == "" {
		return false
	}
	for _, n := range []string{name, Key(pkg, name)} {
		if n == want || strings.HasPrefix(n, want+"/") {
			return true
		}
	}
	return false
}
