package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/factory-dev/factory/invariants/rules"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/factory-dev/factory/tools"
)

func runDoctor(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "doctor", "[flags]", "Check what this machine and workspace offer factory, and say how to fix what is missing.")
	var c common
	c.register(fs, env)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	var rep tools.DoctorReport
	if a, err := c.open(ctx, env); err != nil {
		// Still report what can be checked without a workspace, and why
		// there is none.
		rep = tools.DiagnoseUnopened(ctx, factoryVersion(), err)
	} else {
		defer a.close()
		rep = tools.Diagnose(ctx, a.deps(nil))
		addSuiteChecks(ctx, &rep, a.ws)
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		for _, ch := range rep.Checks {
			mark := "ok  "
			if !ch.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(env.stdout, "%s %-10s %s\n", mark, ch.Name, ch.Detail)
			if !ch.OK && ch.Fix != "" {
				fmt.Fprintf(env.stdout, "     %-10s fix: %s\n", "", ch.Fix)
			}
		}
		if len(rep.Sandbox.Notes) > 0 {
			fmt.Fprintf(env.stdout, "\nsandbox notes: %s\n", strings.Join(rep.Sandbox.Notes, "; "))
		}
	}
	if !rep.OK {
		return exitError{1}
	}
	return nil
}

// addSuiteChecks adds, for each suite of the rules (committed at HEAD, or
// detected when none are), whether its command exists and its report will
// be written; a failed one fails the report. Rules that do not load are
// the config check's business.
func addSuiteChecks(ctx context.Context, rep *tools.DoctorReport, ws *sandbox.Workspace) {
	cfg, _, err := rules.LoadOrDetect(ctx, ws, ws.Root(), "", testrun.DetectSuites)
	if err != nil {
		return
	}
	for _, c := range testrun.CheckSuites(ws.Root(), cfg.Suites) {
		rep.Checks = append(rep.Checks, tools.Check{Name: "suite", OK: c.OK, Detail: c.Detail, Fix: c.Fix})
		rep.OK = rep.OK && c.OK
	}
}

func runVersion(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "version", "", "Print factory's version.")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "factory %s\n", factoryVersion())
	return nil
}
