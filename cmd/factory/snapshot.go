package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func runSnapshot(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fs := newFlags(env, "snapshot", "prune [--dry-run] [--keep N]", `Manage snapshots (refs/factory/snapshots/* in the repository).

  prune   apply the retention policy: keep the newest N unlabelled snapshots
          (default 500) and every labelled one; --dry-run shows what would go.`)
		if len(args) == 0 {
			return usageError{"want a subcommand: prune"}
		}
		return parse(env, fs, args)
	}
	if args[0] != "prune" {
		return usageError{fmt.Sprintf("unknown subcommand %q; want prune", args[0])}
	}
	fs := newFlags(env, "snapshot prune", "[flags]", "Delete old unlabelled snapshots beyond the newest --keep; labelled ones are kept. Objects are left for git gc.")
	var c common
	c.register(fs, env)
	dry := fs.Bool("dry-run", false, "list what would be removed, remove nothing")
	keep := fs.Int("keep", 0, "unlabelled snapshots to keep (default 500)")
	if err := parse(env, fs, args[1:]); err != nil {
		return err
	}
	if *keep < 0 {
		return usageError{"--keep must be 0 (the default, 500) or more"}
	}
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	gone, err := a.ws.Prune(ctx, *keep, *dry)
	if err != nil {
		return err
	}
	verb := "removed"
	if *dry {
		verb = "would remove"
	}
	if len(gone) == 0 {
		fmt.Fprintf(env.stdout, "nothing to prune\n")
		return nil
	}
	fmt.Fprintf(env.stdout, "%s %d snapshots:\n", verb, len(gone))
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tRUN")
	for _, s := range gone {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.ID, s.Created.Local().Format("2006-01-02 15:04:05"), orDash(s.RunID))
	}
	return tw.Flush()
}
