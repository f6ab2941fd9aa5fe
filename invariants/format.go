package invariants

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/factory-dev/factory"
)

// FormatTable writes verdicts as a table (ID, STATUS, TIME, MESSAGE), each
// failing or erroring verdict followed by its evidence, indented, at most
// maxEvidence lines. It returns the first write error.
func FormatTable(w io.Writer, vs []factory.Verdict) error {
	const maxEvidence = 12
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INVARIANT\tSTATUS\tTIME\tMESSAGE")
	for _, v := range vs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.ID, strings.ToUpper(v.Status), v.Duration.Round(time.Millisecond), oneLine(v.Message))
		if !v.Failing() {
			continue
		}
		for i, e := range v.Evidence {
			if i == maxEvidence {
				fmt.Fprintf(tw, "\t\t\t  ... %d more\n", len(v.Evidence)-maxEvidence)
				break
			}
			fmt.Fprintf(tw, "\t\t\t  %s\n", oneLine(e))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	pass, fail, errs, skip := 0, 0, 0, 0
	for _, v := range vs {
		switch v.Status {
		case factory.VerdictPass:
			pass++
		case factory.VerdictFail:
			fail++
		case factory.VerdictError:
			errs++
		default:
			skip++
		}
	}
	_, err := fmt.Fprintf(w, "%d passed, %d failed, %d errors, %d skipped\n", pass, fail, errs, skip)
	return err
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\t", " ")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	return factory.Clip(s, 200)
}
