package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/factory-dev/factory"
)

func runRuns(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "runs", "[flags]", "List the runs in the run log, newest first.")
	var c common
	c.register(fs, env)
	limit := fs.Int("limit", 20, "how many runs")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	runs, err := a.store.Runs(ctx, *limit)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintln(env.stdout, "no runs yet: they are recorded while factory serves (factory serve) or runs a tool (factory call)")
		return nil
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tDURATION\tSTEPS\tFAILED\tNAME\tCLIENT")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", r.ID, r.Started.Local().Format("2006-01-02 15:04:05"),
			runDuration(r), r.Steps, r.Failed, orDash(r.Name), orDash(r.Client))
	}
	return tw.Flush()
}

func runTrace(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "trace", "[flags] RUN", "Show one run: its steps as an indented tree (steps inside steps under their parent) with status, duration and tool, and its notes. RUN is an id, a unique prefix of one, or latest.")
	var c common
	c.register(fs, env)
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"want one run id (see factory runs), or latest"}
	}
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	run, steps, msgs, err := a.store.Run(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	printTrace(env.stdout, run, steps, msgs)
	return nil
}

// printTrace writes a run as a tree: steps ordered by start, children under
// their parent, notes in time order between them.
func printTrace(w io.Writer, run factory.Run, steps []factory.Step, msgs []factory.Message) {
	title := run.ID
	if run.Name != "" {
		title += "  " + run.Name
	}
	if run.Workflow != "" {
		title += " (" + run.Workflow + ")"
	}
	fmt.Fprintf(w, "run %s\n", title)
	fmt.Fprintf(w, "  started %s, %s, %d steps, %d not ok", run.Started.Local().Format("2006-01-02 15:04:05"), runDuration(run), run.Steps, run.Failed)
	if run.Client != "" {
		fmt.Fprintf(w, ", client %s", run.Client)
	}
	fmt.Fprintln(w)

	children := map[string][]factory.Step{}
	ids := map[string]bool{}
	for _, s := range steps {
		ids[s.ID] = true
	}
	var top []factory.Step
	for _, s := range steps {
		if s.ParentID != "" && ids[s.ParentID] {
			children[s.ParentID] = append(children[s.ParentID], s)
		} else {
			top = append(top, s)
		}
	}
	byStart := func(ss []factory.Step) {
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].Started.Before(ss[j].Started) })
	}
	byStart(top)
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Created.Before(msgs[j].Created) })

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nTIME\tSTATUS\tDURATION\tSTEP\tDETAIL")
	var walk func(s factory.Step, depth int)
	walk = func(s factory.Step, depth int) {
		name := s.Tool
		if name == "" {
			name = s.Method
		} else if s.Method != "tools/call" && s.Method != "" {
			name = s.Method + " " + name
		}
		detail := s.Error
		if detail == "" {
			detail = s.Result
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\t%s\n", s.Started.Local().Format("15:04:05.000"), s.Status,
			fmtDuration(s.Duration), strings.Repeat("  ", depth), name, oneLine(detail, 80))
		kids := children[s.ID]
		byStart(kids)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	mi := 0
	for _, s := range top {
		for mi < len(msgs) && !msgs[mi].Created.After(s.Started) {
			printNote(tw, msgs[mi])
			mi++
		}
		walk(s, 0)
	}
	for ; mi < len(msgs); mi++ {
		printNote(tw, msgs[mi])
	}
	tw.Flush()
}

func printNote(w io.Writer, m factory.Message) {
	fmt.Fprintf(w, "%s\t%s\t\t  note\t%s\n", m.Created.Local().Format("15:04:05.000"), m.Kind, oneLine(m.Text, 100))
}

func runDuration(r factory.Run) string {
	if r.Ended.IsZero() {
		return "open"
	}
	return fmtDuration(r.Ended.Sub(r.Started))
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n-1]) + "…"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
