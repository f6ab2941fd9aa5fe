package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/sandbox/testrun"
)

func runCheck(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "check", "[flags]", `Evaluate the invariants of factory.yaml, as committed at HEAD, on the current
tree (its gates run in an isolated copy), print a table of verdicts, and exit 1
unless every invariant passed (a skipped one does not). The change since the
baseline is judged (diff, protect, baseline.* facts): HEAD by default, or --base
(the way to use it in CI on a pull request). The rules always come from HEAD.`)
	var c common
	c.register(fs, env)
	base := fs.String("base", "", "a git revision to judge the tree against (e.g. origin/main)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	noCache := fs.Bool("no-cache", false, "run every gate even if this tree was checked before")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	ctrl, err := a.controller(nil)
	if err != nil {
		return err
	}
	req := invariants.CheckRequest{NoCache: *noCache}
	if *base != "" {
		id, err := a.snapshotOfRevision(ctx, *base)
		if err != nil {
			return err
		}
		req.Baseline = id
	}
	res, err := ctrl.Check(ctx, req)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		if err := invariants.FormatTable(env.stdout, res.Verdicts); err != nil {
			return err
		}
		failed := 0
		for _, v := range res.Verdicts {
			if v.Status != factory.VerdictPass {
				failed++
			}
		}
		fmt.Fprintf(env.stdout, "\n%d invariants, %d not passing (tree %s", len(res.Verdicts), failed, res.Snapshot)
		if res.Cached {
			fmt.Fprint(env.stdout, ", cached")
		}
		fmt.Fprintln(env.stdout, ")")
		if res.ConfigNote != "" {
			fmt.Fprintln(env.stdout, res.ConfigNote)
		}
	}
	if !res.Passed {
		return exitError{1}
	}
	return nil
}

// controller builds the invariants controller over this workspace.
func (a *app) controller(steps invariants.Steps) (*invariants.Controller, error) {
	return invariants.New(invariants.ControllerConfig{
		Workspace: testrun.Workspace{Workspace: a.ws},
		Runner:    testrun.New(a.ws),
		Steps:     steps,
		CacheDir:  filepath.Join(a.ws.GitDir(), "factory", "cache"),
		Logger:    a.log,
	})
}

// snapshotOfRevision makes a snapshot whose tree is the tree of a git
// revision, so a commit can serve as a baseline.
func (a *app) snapshotOfRevision(ctx context.Context, rev string) (string, error) {
	if strings.HasPrefix(rev, "-") {
		return "", usageError{fmt.Sprintf("--base %q: a revision cannot begin with '-'", rev)}
	}
	res, err := proc.Run(ctx, proc.Cmd{Argv: []string{"git", "rev-parse", "--verify", "--end-of-options", rev + "^{commit}"},
		Dir: a.ws.Root(), Timeout: 30 * time.Second})
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", factory.Errorf(factory.ENOTFOUND, "--base %q is not a commit in this repository", rev)
	}
	return a.ws.SnapshotCommit(ctx, strings.TrimSpace(string(res.Stdout)), "base "+rev)
}
