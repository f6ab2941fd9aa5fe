package tools

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/sandbox/proc"
)

// Check is one line of a doctor report.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"` // what to do when not OK
}

// DoctorReport is what this machine and workspace offer factory.
type DoctorReport struct {
	Version string        `json:"version"`
	OK      bool          `json:"ok"` // every required check passed
	Checks  []Check       `json:"checks"`
	Sandbox proc.Features `json:"sandbox"`
}

type doctorArgs struct{}

func doctorTool(d Deps) Tool {
	return define(d.Log, SetAll, "doctor",
		"Report what this machine and workspace offer factory: git, the workspace, the run log, sandbox features (bubblewrap, namespaces, cgroups, landlock) and whether factory.yaml is valid, each with how to fix it.",
		annotations{title: "Check the environment", readOnly: true, idempotent: true},
		func(ctx context.Context, _ doctorArgs) (DoctorReport, error) {
			return Diagnose(ctx, d), nil
		})
}

// Diagnose runs every check. It never fails: a failed check is a line of
// the report.
func Diagnose(ctx context.Context, d Deps) DoctorReport {
	r := DoctorReport{Version: d.Version, OK: true}
	add := func(c Check, required bool) {
		r.Checks = append(r.Checks, c)
		if required && !c.OK {
			r.OK = false
		}
	}

	if path, err := exec.LookPath("git"); err != nil {
		add(Check{Name: "git", Detail: "git not found in PATH", Fix: "install git (apt-get install git)"}, true)
	} else {
		dir, _ := os.Getwd()
		res, _ := proc.Run(ctx, proc.Cmd{Argv: []string{path, "--version"}, Dir: dir, Timeout: 10 * time.Second})
		add(Check{Name: "git", OK: true, Detail: strings.TrimSpace(string(res.Stdout))}, true)
	}

	if d.Workspace == nil {
		add(Check{Name: "workspace", Detail: "no workspace", Fix: "run factory inside a git repository, or pass --root"}, true)
	} else {
		add(Check{Name: "workspace", OK: true, Detail: d.Workspace.Root()}, true)
	}

	if d.Store == nil {
		add(Check{Name: "run log", Detail: "not open", Fix: "check --db points to a writable file"}, true)
	} else {
		detail := d.DBPath
		if d.Store.FTS() {
			detail += " (full-text search: FTS5)"
		} else {
			detail += " (full-text search: LIKE fallback; build with -tags sqlite_fts5 for FTS5)"
		}
		ok, fix := writable(filepath.Dir(d.DBPath))
		add(Check{Name: "run log", OK: ok, Detail: detail, Fix: fix}, true)
	}

	f := proc.Detect()
	r.Sandbox = f
	sb := Check{Name: "sandbox", OK: f.Best != "none", Detail: "isolation " + f.Describe()}
	if len(f.Notes) > 0 {
		sb.Detail += "; " + strings.Join(f.Notes, "; ")
	}
	if f.Best == "none" {
		sb.Fix = "install bubblewrap (apt-get install bubblewrap), or run where user namespaces are allowed"
	}
	add(sb, false)

	if d.Workspace != nil {
		path := filepath.Join(d.Workspace.Root(), "factory.yaml")
		_, statErr := os.Stat(path)
		switch {
		case errors.Is(statErr, os.ErrNotExist):
			add(Check{Name: "config", OK: true, Detail: "no factory.yaml (defaults apply)", Fix: "run factory init to write one"}, false)
		default:
			if _, err := invariants.Load(path); err != nil {
				add(Check{Name: "config", Detail: factory.ErrorMessage(err), Fix: "correct factory.yaml as the message says"}, true)
				break
			}
			add(Check{Name: "config", OK: true, Detail: path + " is valid"}, true)
		}
	}
	return r
}

// writable reports whether a file can be created in dir.
func writable(dir string) (bool, string) {
	f, err := os.CreateTemp(dir, ".factory-doctor-*")
	if err != nil {
		return false, "make " + dir + " writable, or pass --db with a writable path"
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return true, ""
}
