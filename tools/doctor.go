package tools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/traces"
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

func doctor(d Deps) Tool {
	return define(d, "doctor",
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
	r.add(checkGit(ctx), true)
	if d.Workspace == nil {
		r.add(Check{Name: "workspace", Detail: "no workspace was given to this server", Fix: "start factory inside a git repository, or pass --root"}, true)
	} else {
		r.add(Check{Name: "workspace", OK: true, Detail: d.Workspace.Root()}, true)
	}
	r.add(checkRunLog(d), true)
	r.Sandbox = r.addSandbox()
	if d.Workspace != nil {
		r.add(configCheck(ctx, d), true)
		if c, ignored := IgnoredConfig(ctx, d.Workspace); ignored {
			r.add(c, true)
		}
		r.add(HooksCheck(ctx, d.Workspace), false)
		r.add(watchCheck(d.Workspace), false)
	}
	return r
}

// watchCheck says whether snapshots re-read only what changed (the file
// watcher serve runs) or walk the whole tree, and why.
func watchCheck(w *sandbox.Workspace) Check {
	if why := w.WatchStatus(); why != "" {
		return Check{Name: "watcher", Detail: why, Fix: "snapshots stay correct, only slower on large trees; see docs/ARCHITECTURE.md (the file watcher)"}
	}
	if n := w.Watched(); n > 0 {
		return Check{Name: "watcher", OK: true, Detail: fmt.Sprintf("inotify on %d directories: a snapshot re-reads only what changed since the last", n)}
	}
	return Check{Name: "watcher", OK: true, Detail: "not running in this process (factory serve watches the workspace); snapshots here walk the whole tree"}
}

// DiagnoseUnopened is Diagnose for a workspace that could not be opened:
// the workspace check says why (openErr, which says what to do after its
// first "; ") and the checks that need a workspace are left out.
func DiagnoseUnopened(ctx context.Context, version string, openErr error) DoctorReport {
	r := DoctorReport{Version: version, OK: true}
	r.add(checkGit(ctx), true)
	msg := openErr.Error() // doctor's reader is the user at the terminal: internal detail helps
	detail, fix, ok := strings.Cut(msg, "; ")
	if !ok {
		detail, fix = msg, "run factory inside a git repository (git init makes one), or pass --root with a directory inside one"
	}
	r.add(Check{Name: "workspace", Detail: detail, Fix: fix}, true)
	r.Sandbox = r.addSandbox()
	return r
}

// add appends c; a failed required check fails the report.
func (r *DoctorReport) add(c Check, required bool) {
	r.Checks = append(r.Checks, c)
	if required && !c.OK {
		r.OK = false
	}
}

func checkGit(ctx context.Context) Check {
	path, err := exec.LookPath("git")
	if err != nil {
		return Check{Name: "git", Detail: "git not found in PATH", Fix: "install git (apt-get install git)"}
	}
	dir, _ := os.Getwd()
	res, _ := proc.Run(ctx, proc.Cmd{Argv: []string{path, "--version"}, Dir: dir, Timeout: 10 * time.Second})
	return Check{Name: "git", OK: true, Detail: strings.TrimSpace(string(res.Stdout))}
}

// checkRunLog reports the run log: its path and search backend, or, for a
// stand-in (traces.OpenOrStandIn), why the real one could not be used and
// the fix.
func checkRunLog(d Deps) Check {
	if d.Store == nil {
		return Check{Name: "run log", Detail: "not open", Fix: "check --db points to a writable file"}
	}
	var f *traces.Fault
	if errors.As(d.Store.Fault(), &f) {
		return Check{Name: "run log", Fix: f.Fix, Detail: "the run log at " + f.Path + " could not be " + f.Op + ": " + f.Cause +
			"; until then, calls are recorded only in a temporary run log that is lost at exit"}
	}
	detail := d.DBPath
	if d.Store.FTS() {
		detail += " (full-text search: FTS5)"
	} else {
		detail += " (full-text search: LIKE fallback; build with -tags sqlite_fts5 for FTS5)"
	}
	ok, fix := writable(filepath.Dir(d.DBPath))
	return Check{Name: "run log", OK: ok, Detail: detail, Fix: fix}
}

// addSandbox adds the sandbox check, which is not required: tests then run
// with less isolation.
func (r *DoctorReport) addSandbox() proc.Features {
	f := proc.Detect()
	sb := Check{Name: "sandbox", OK: f.Best != "none", Detail: "isolation " + f.Describe()}
	if len(f.Notes) > 0 {
		sb.Detail += "; " + strings.Join(f.Notes, "; ")
	}
	if f.Best == "none" {
		sb.Fix = proc.IsolationFix()
	}
	r.add(sb, false)
	return f
}

// configCheck reports factory.yaml as committed at HEAD (the rules that
// apply) and whether the working copy differs.
func configCheck(ctx context.Context, d Deps) Check {
	root := d.Workspace.Root()
	_, statErr := os.Lstat(rules.ConfigPath(root))
	_, note, err := rules.LoadTrusted(ctx, d.Workspace, root, "")
	switch {
	case err == nil && note != "":
		return Check{Name: "config", OK: true, Detail: "factory.yaml at HEAD is valid; " + note,
			Fix: "commit factory.yaml when its changes should apply"}
	case err == nil:
		return Check{Name: "config", OK: true, Detail: "factory.yaml at HEAD is valid"}
	case factory.ErrorCode(err) == factory.ENOTFOUND && errors.Is(statErr, os.ErrNotExist):
		return Check{Name: "config", OK: true, Detail: "no factory.yaml (defaults apply)", Fix: "run factory init to write one"}
	case factory.ErrorCode(err) == factory.ENOTFOUND:
		detail := "factory.yaml is in the working tree but not committed at HEAD; the rules are read from HEAD, so the gates cannot run"
		if _, lerr := rules.Load(rules.ConfigPath(root)); lerr != nil {
			detail += "; the working copy is not valid either: " + factory.ErrorMessage(lerr)
		}
		return Check{Name: "config", Detail: detail, Fix: "git add factory.yaml && git commit"}
	}
	return Check{Name: "config", Detail: factory.ErrorMessage(err), Fix: "correct factory.yaml as the message says and commit it"}
}

// IgnoredConfig reports, as a failed check, a factory.yaml that git
// ignores: it can never be committed, so the rules (read from HEAD) never
// apply. ok is false when git does not ignore it (or cannot say).
func IgnoredConfig(ctx context.Context, ws *sandbox.Workspace) (Check, bool) {
	rule, ignored, err := ws.IgnoredBy(ctx, rules.ConfigFile)
	if err != nil || !ignored {
		return Check{}, false
	}
	file, pattern := rule, rule
	if parts := strings.SplitN(rule, ":", 3); len(parts) == 3 {
		file, pattern = parts[0]+":"+parts[1], parts[2]
	}
	return Check{Name: "config ignored",
		Detail: fmt.Sprintf("git ignores factory.yaml: rule %q at %s (git check-ignore -v factory.yaml), so it cannot be committed and its rules never apply", pattern, file),
		Fix:    "add the line !factory.yaml at the end of the repository's .gitignore (or force it in once: git add -f factory.yaml), then git commit"}, true
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
