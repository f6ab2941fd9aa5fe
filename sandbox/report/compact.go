package report

import (
	"strconv"
	"strings"
)

// compactOutput drops from the output of a failure of a runner other than
// go test the lines that only restate what the failure's own fields say:
// the assertion line its Message holds (pytest's "E   AssertionError: ...",
// vitest's "AssertionError: ...", Rust's left and right, folded into the
// message), the line naming its File and Line ("❯ test/x.ts:6:27",
// "tests/x.py:7: AssertionError", "thread 'x' panicked at src/lib.rs:17:9:"),
// pytest's "Use -v to get more diff", and blank lines at the ends and in
// runs. What stays is what the agent could not read elsewhere: the
// source line, the diff, the test's own prints.
func compactOutput(lines []string, msg, file string, line int) []string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if e, ok := strings.CutPrefix(t, "E "); ok {
			t = strings.TrimSpace(e)
		}
		switch {
		case t == "":
			if len(out) == 0 || out[len(out)-1] == "" {
				continue
			}
			out = append(out, "")
			continue
		case len(t) >= 6 && msg != "" && strings.Contains(msg, t),
			strings.HasSuffix(t, ": "+msg) && msg != "",
			strings.HasPrefix(t, "Use -v to get") || strings.HasPrefix(t, "note: run with `RUST_BACKTRACE"),
			namesPlace(t, file, line):
			continue
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// namesPlace reports a line that is only a location (file:line with a
// marker, an error type or a panic header) naming file and line.
func namesPlace(t, file string, line int) bool {
	if file == "" || line == 0 {
		return false
	}
	m := locRe.FindStringSubmatchIndex(t)
	if m == nil {
		return false
	}
	f, n := t[m[2]:m[3]], t[m[4]:m[5]]
	if !(strings.HasSuffix(f, file) || strings.HasSuffix(file, f)) || n != strconv.Itoa(line) {
		return false
	}
	rest := strings.TrimSpace(t[:m[0]] + " " + t[m[1]:])
	return strings.Contains(rest, "panicked at") || len(strings.Fields(rest)) <= 2
}
