package report

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
)

var (
	libtestRunningRe = regexp.MustCompile(`^\s+Running (?:unittests )?(\S+)`)
	libtestDocRe     = regexp.MustCompile(`^\s+Doc-tests (\S+)`)
	libtestStartRe   = regexp.MustCompile(`^running \d+ tests?$`)
	libtestCaseRe    = regexp.MustCompile(`^test (.+?) (?:- should panic )?\.\.\. (ok|FAILED|ignored)\b`)
	libtestBlockRe   = regexp.MustCompile(`^---- (.+?) (?:stdout|stderr) ----$`)
	// panicked at src/lib.rs:29:9: (Rust 1.73 on), or the older
	// panicked at 'msg', src/lib.rs:29:9
	libtestPanicRe = regexp.MustCompile(`^thread '[^']*'(?: \(\d+\))? panicked at (?:'(.*)', )?([^:\s]+\.rs):(\d+)(?::\d+)?:?$`)
	rustcErrorRe   = regexp.MustCompile(`^error(\[E\d+\])?: (.+)$`)
	rustcWhereRe   = regexp.MustCompile(`^\s*--> ([^:\s]+\.rs):(\d+)`)
)

// ParseLibtest reads the plain output of `cargo test` (libtest's default
// format, the only stable one: --format json needs a nightly toolchain):
// one case per "test name ... ok|FAILED|ignored" line, its package the
// test binary's source ("src/lib.rs", "tests/ledger.rs", "doctests
// ledger"), and for each failure its panic: file and line, the message,
// and for assert_eq!/assert_ne! the left and right values folded into the
// message. rustc's errors become build errors. ok is false when out holds
// neither a test line nor a compiler error: it is not libtest's output.
func ParseLibtest(out []byte) (res *Result, ok bool) {
	res = &Result{}
	lines := splitLines(string(out))
	// cargo prints "Running x" on stderr and the binary's own output on
	// stdout, so the log may hold them apart: the k-th "running N tests"
	// is the k-th binary named.
	var bins []string
	for _, l := range lines {
		if m := libtestRunningRe.FindStringSubmatch(l); m != nil {
			bins = append(bins, m[1])
		} else if m := libtestDocRe.FindStringSubmatch(l); m != nil {
			bins = append(bins, "doctests "+m[1])
		}
	}
	pkg, started := "", 0
	at := map[string]int{} // "pkg\x00name" -> index in res.Cases
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if libtestStartRe.MatchString(l) {
			pkg = ""
			if started < len(bins) {
				pkg = bins[started]
			}
			started++
			continue
		}
		if m := libtestCaseRe.FindStringSubmatch(l); m != nil {
			st := map[string]string{"ok": Pass, "FAILED": Fail, "ignored": Skip}[m[2]]
			at[pkg+"\x00"+m[1]] = len(res.Cases)
			res.Cases = append(res.Cases, Case{Name: m[1], Package: pkg, Status: st, own: st == Fail})
			continue
		}
		if m := libtestBlockRe.FindStringSubmatch(l); m != nil {
			j, found := at[pkg+"\x00"+m[1]]
			block := libtestBlock(lines[i+1:])
			i += len(block)
			if found {
				libtestFailure(&res.Cases[j], block)
			}
			continue
		}
		if m := rustcErrorRe.FindStringSubmatch(l); m != nil && !strings.HasPrefix(m[2], "could not compile") &&
			!strings.HasPrefix(m[2], "test failed") && !strings.HasPrefix(m[2], "aborting") && !strings.HasPrefix(m[2], "1 target failed") {
			be := factory.BuildError{Message: m[2], Output: []string{l}}
			for k := i + 1; k < len(lines) && k < i+12 && strings.TrimSpace(lines[k]) != ""; k++ {
				be.Output = append(be.Output, lines[k])
				if w := rustcWhereRe.FindStringSubmatch(lines[k]); w != nil && be.File == "" {
					be.File = w[1]
					be.Line, _ = strconv.Atoi(w[2])
				}
			}
			// Only rustc's own errors: a code, or a place in a .rs file.
			if m[1] != "" || be.File != "" {
				res.BuildErrors = append(res.BuildErrors, be)
			}
		}
	}
	return res, len(res.Cases) > 0 || len(res.BuildErrors) > 0
}

// libtestBlock returns the lines of a failure's "---- name stdout ----"
// block: up to the next block, the "failures:" list or the result line.
func libtestBlock(lines []string) []string {
	for i, l := range lines {
		if libtestBlockRe.MatchString(l) || l == "failures:" || strings.HasPrefix(l, "test result:") {
			return lines[:i]
		}
	}
	return lines
}

// libtestFailure fills c from its block: the panic's place, its message
// (with left and right for assert_eq!), and the output without the
// backtrace.
func libtestFailure(c *Case, block []string) {
	var out []string
	for _, l := range block {
		if strings.HasPrefix(l, "stack backtrace:") || strings.HasPrefix(l, "note: run with `RUST_BACKTRACE") {
			break
		}
		out = append(out, l)
	}
	for len(out) > 0 && strings.TrimSpace(out[0]) == "" {
		out = out[1:]
	}
	for len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
		out = out[:len(out)-1]
	}
	c.Output = out
	for i, l := range out {
		m := libtestPanicRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		c.File = m[2]
		c.Line, _ = strconv.Atoi(m[3])
		c.Message = m[1]
		rest := out[i+1:]
		if c.Message == "" && len(rest) > 0 {
			c.Message = strings.TrimSpace(rest[0])
			rest = rest[1:]
		}
		var lr []string
		for _, r := range rest {
			t := strings.TrimSpace(r)
			if strings.HasPrefix(t, "left:") || strings.HasPrefix(t, "right:") {
				lr = append(lr, t)
			}
		}
		if len(lr) > 0 {
			c.Message += " (" + strings.Join(lr, ", ") + ")"
		}
		return
	}
	c.Message = firstMeaningful(out)
}
