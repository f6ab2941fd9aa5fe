package gatehooks

import (
	"fmt"
	"github.com/factory-dev/factory"
	"path"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Analysis is what a shell command may do to the branch. The zero value is
// a command that makes, moves and publishes no commit.
type Analysis struct {
	// Commit: something in the command makes or moves commits (git commit,
	// merge, rebase, cherry-pick, am, revert, pull, commit-tree,
	// update-ref, an unknown git subcommand or alias). The trees it would
	// record must have been accepted.
	Commit bool
	// Push: something publishes commits (git push, send-pack).
	Push bool
	// Unknown, when set, says why factory cannot tell what the command runs
	// (it does not parse, eval of a computed string, a variable as the
	// command name, ...). It is treated as Commit and Push together: a
	// command that cannot be read is allowed only when nothing ungated
	// could land.
	Unknown string
	// Tamper, when set, is a refusal regardless of the tree: the command
	// names factory's hooks or records (core.hooksPath, .git/hooks,
	// refs/factory/accepted, .claude/settings).
	Tamper string
	// What lists the commit-making or publishing invocations found, for
	// messages ("git commit", "git push").
	What []string
}

// NeedsGate says whether the command may land or publish something, so the
// trees must be checked.
func (a Analysis) NeedsGate() bool { return a.Commit || a.Push || a.Unknown != "" }

// maxDepth bounds nested shells (sh -c "bash -c '...'"): deeper nesting is
// Unknown rather than a stack to exhaust.
const maxDepth = 6

// Analyze parses command as bash would and finds every git invocation in it:
// in lists, pipelines, subshells, command substitutions, functions, behind
// env assignments and wrappers (command, exec, env, sudo, nohup, timeout,
// xargs, find -exec, ...), inside sh/bash -c strings, eval strings and
// here-documents fed to a shell. A git invocation hidden in an argument of
// another program (python -c "...git commit...") is caught by a textual
// match. It never runs anything.
func Analyze(command string) Analysis {
	var a analyzer
	a.script(command, 0)
	return a.out
}

type analyzer struct {
	out      Analysis
	redirect bool // GIT_DIR, GIT_INDEX_FILE, --git-dir, ...: another tree than the one checked
}

func (a *analyzer) unknown(format string, args ...any) {
	if a.out.Unknown == "" {
		a.out.Unknown = "cannot tell what this runs: " + fmt.Sprintf(format, args...)
	}
}

func (a *analyzer) tamper(why string) {
	if a.out.Tamper == "" {
		a.out.Tamper = why
	}
}

func (a *analyzer) found(what string, push bool) {
	if push {
		a.out.Push = true
	} else {
		a.out.Commit = true
	}
	for _, w := range a.out.What {
		if w == what {
			return
		}
	}
	a.out.What = append(a.out.What, what)
}

// script analyses one shell program (the command, or a string run by a
// nested shell or eval).
func (a *analyzer) script(src string, depth int) {
	a.scanTamper(src)
	if depth > maxDepth {
		a.unknown("shells nested more than %d deep", maxDepth)
		return
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), "")
	if err != nil {
		a.unknown("the command does not parse as shell (%v)", err)
		return
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Stmt:
			if ce, ok := n.Cmd.(*syntax.CallExpr); ok {
				a.call(ce, n.Redirs, depth)
			}
		case *syntax.DeclClause: // export GIT_DIR=...
			for _, as := range n.Args {
				a.assign(as)
			}
		}
		return true
	})
	if a.redirect && (a.out.Commit || a.out.Push) {
		a.unknown("GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE or --git-dir/--work-tree point git at another tree than the working tree factory checks")
	}
}

// redirectVars are the environment variables that make git commit another
// tree than the working tree's index.
var redirectVars = map[string]bool{"GIT_DIR": true, "GIT_WORK_TREE": true, "GIT_INDEX_FILE": true,
	"GIT_COMMON_DIR": true, "GIT_OBJECT_DIRECTORY": true, "GIT_NAMESPACE": true}

func (a *analyzer) assign(as *syntax.Assign) {
	if as.Name != nil && redirectVars[as.Name.Value] {
		a.redirect = true
	}
}

func (a *analyzer) call(ce *syntax.CallExpr, redirs []*syntax.Redirect, depth int) {
	for _, as := range ce.Assigns {
		a.assign(as)
	}
	if len(ce.Args) == 0 {
		return
	}
	a.command(ce.Args, redirs, depth)
}

// command analyses one simple command's words (the name first).
func (a *analyzer) command(words []*syntax.Word, redirs []*syntax.Redirect, depth int) {
	name, ok := literal(words[0])
	if !ok {
		a.unknown("the command name %s is computed when the command runs", printWord(words[0]))
		return
	}
	base := path.Base(name)
	args := words[1:]
	switch {
	case base == "git" || base == "hub":
		a.git(args, false)
	case strings.HasPrefix(base, "git-") && gitSubcommand.MatchString(base[4:]):
		a.gitSub(base[4:])
	case wrappers[base]:
		a.wrapped(base, args, redirs, depth)
	case shells[base]:
		a.shell(args, redirs, depth)
	case base == "eval":
		a.eval(args, depth)
	case base == "alias" && len(args) > 0:
		a.unknown("alias defines a command name factory cannot follow")
	case base == "find":
		a.find(args, redirs, depth)
	default:
		a.scanWords(args)
	}
	for _, r := range redirs { // python3 <<EOF ... git commit ... EOF
		if r.Hdoc != nil {
			a.scanText(lossy(r.Hdoc))
		}
	}
}

// wrappers run their arguments as a command.
var wrappers = map[string]bool{"command": true, "builtin": true, "exec": true, "nohup": true, "time": true,
	"env": true, "sudo": true, "doas": true, "timeout": true, "nice": true, "ionice": true, "stdbuf": true,
	"setsid": true, "xargs": true, "flock": true, "chronic": true, "unbuffer": true, "strace": true,
	"ltrace": true, "torsocks": true, "proxychains": true, "proxychains4": true, "caffeinate": true,
	"watch": true, "script": true, "su": true, "runuser": true, "chroot": true, "systemd-run": true,
	"firejail": true, "bwrap": true, "unshare": true, "nsenter": true, "taskset": true, "catchsegv": true}

// shells run a -c string.
var shells = map[string]bool{"sh": true, "bash": true, "zsh": true, "dash": true, "ksh": true, "ash": true,
	"mksh": true, "busybox": true, "fish": true, "tcsh": true, "csh": true, "rbash": true}

// wrapped finds the command a wrapper runs: the first word that names git,
// a shell or eval; a wrapper whose command is computed is Unknown.
func (a *analyzer) wrapped(base string, args []*syntax.Word, redirs []*syntax.Redirect, depth int) {
	if base == "watch" || base == "script" || base == "su" || base == "runuser" {
		// these take the command as one string (-c / a trailing string)
		for _, w := range args {
			if s, ok := literal(w); ok && !strings.HasPrefix(s, "-") {
				a.script(s, depth+1)
			}
		}
	}
	for i, w := range args {
		s, ok := literal(w)
		if !ok {
			if i == firstOperand(args) {
				a.unknown("%s runs %s, which is computed when the command runs", base, printWord(w))
			}
			continue
		}
		b := path.Base(s)
		if b == "git" || b == "hub" || strings.HasPrefix(b, "git-") || wrappers[b] || shells[b] || b == "eval" {
			if base == "xargs" && (b == "git" || b == "hub") {
				a.git(args[i+1:], true)
				return
			}
			a.command(args[i:], redirs, depth)
			return
		}
	}
	a.scanWords(args)
}

// firstOperand is the index of the first argument that is not an option or
// an assignment: the command a wrapper most likely runs.
func firstOperand(args []*syntax.Word) int {
	for i, w := range args {
		s, ok := literal(w)
		if !ok {
			return i
		}
		if !strings.HasPrefix(s, "-") && !strings.Contains(s, "=") {
			return i
		}
	}
	return -1
}

// shell analyses sh/bash -c STRING, and a here-document or here-string fed
// to a shell.
func (a *analyzer) shell(args []*syntax.Word, redirs []*syntax.Redirect, depth int) {
	for i, w := range args {
		s, ok := literal(w)
		if !ok {
			a.unknown("a shell runs %s, which is computed when the command runs", printWord(w))
			return
		}
		if !strings.HasPrefix(s, "-") || s == "--" {
			break
		}
		if !strings.HasPrefix(s, "--") && strings.Contains(s, "c") {
			// -c, -lc, -ec: the first operand after the options is the script
			for _, sw := range args[i+1:] {
				script, ok := literal(sw)
				if !ok {
					a.unknown("a shell runs %s, which is computed when the command runs", printWord(sw))
					return
				}
				if strings.HasPrefix(script, "-") {
					continue
				}
				a.script(script, depth+1)
				return
			}
		}
	}
	for _, r := range redirs {
		var body *syntax.Word
		switch {
		case r.Hdoc != nil:
			body = r.Hdoc
		case r.Op == syntax.WordHdoc:
			body = r.Word
		}
		if body == nil {
			continue
		}
		if s, ok := literal(body); ok {
			a.script(s, depth+1)
		} else {
			a.script(lossy(body), depth+1)
			a.unknown("a shell reads a here-document with expansions")
		}
	}
}

func (a *analyzer) eval(args []*syntax.Word, depth int) {
	parts := make([]string, 0, len(args))
	for _, w := range args {
		s, ok := literal(w)
		if !ok {
			a.unknown("eval runs %s, which is computed when the command runs", printWord(w))
			return
		}
		parts = append(parts, s)
	}
	a.script(strings.Join(parts, " "), depth+1)
}

// find analyses the commands of -exec, -execdir, -ok and -okdir.
func (a *analyzer) find(args []*syntax.Word, redirs []*syntax.Redirect, depth int) {
	for i, w := range args {
		s, _ := literal(w)
		if s == "-exec" || s == "-execdir" || s == "-ok" || s == "-okdir" {
			end := len(args)
			for j := i + 1; j < len(args); j++ {
				if t, _ := literal(args[j]); t == ";" || t == "+" {
					end = j
					break
				}
			}
			if i+1 < end {
				a.command(args[i+1:end], redirs, depth)
			}
		}
	}
}

// safeGit are the git subcommands that make, move and publish no commit on
// a branch. Everything else (commit, merge, rebase, cherry-pick, am,
// revert, pull, commit-tree, update-ref, notes, submodule foreach, an
// alias, a subcommand git gains tomorrow) is treated as making commits.
var safeGit = map[string]bool{"add": true, "annotate": true, "apply": true, "archive": true, "blame": true,
	"branch": true, "cat-file": true, "check-attr": true, "check-ignore": true, "check-mailmap": true,
	"check-ref-format": true, "checkout": true, "clean": true, "clone": true, "config": true,
	"count-objects": true, "describe": true, "diff": true, "diff-files": true, "diff-index": true,
	"diff-tree": true, "fetch": true, "for-each-ref": true, "format-patch": true, "fsck": true, "gc": true,
	"grep": true, "hash-object": true, "help": true, "init": true, "log": true, "ls-files": true,
	"ls-remote": true, "ls-tree": true, "merge-base": true, "mv": true, "name-rev": true, "prune": true,
	"range-diff": true, "read-tree": true, "reflog": true, "remote": true, "repack": true, "reset": true,
	"restore": true, "rev-list": true, "rev-parse": true, "rm": true, "shortlog": true, "show": true,
	"show-branch": true, "show-ref": true, "sparse-checkout": true, "stash": true, "status": true,
	"switch": true, "tag": true, "update-index": true, "var": true, "verify-commit": true,
	"verify-tag": true, "version": true, "whatchanged": true, "worktree": true, "write-tree": true}

// gitSubcommand is the shape of a git subcommand name (git-foo on PATH).
var gitSubcommand = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// gitGlobal are git's options before the subcommand; the value says
// whether the option takes the next word as its argument.
var gitGlobal = map[string]bool{"-C": true, "-c": true, "--config-env": true, "--git-dir": true, "--work-tree": true,
	"--namespace": true, "--super-prefix": true, "--exec-path": false, "-p": false, "-P": false,
	"--paginate": false, "--no-pager": false, "--bare": false, "--no-replace-objects": false,
	"--literal-pathspecs": false, "--glob-pathspecs": false, "--noglob-pathspecs": false,
	"--icase-pathspecs": false, "--no-optional-locks": false, "--no-advice": false, "--no-lazy-fetch": false}

// git analyses git's arguments. appended says more arguments come from
// elsewhere (xargs), so a missing subcommand is not "none".
func (a *analyzer) git(args []*syntax.Word, appended bool) {
	configured := false // -c / --config-env / --exec-path: configuration can run programs (pager, alias, editor)
	for i := 0; i < len(args); i++ {
		s, ok := literal(args[i])
		if !ok {
			a.unknown("the git subcommand %s is computed when the command runs", printWord(args[i]))
			return
		}
		opt, _, hasValue := strings.Cut(s, "=")
		switch {
		case opt == "--version" || opt == "--help" || opt == "-h" || opt == "--html-path" || opt == "--man-path" || opt == "--info-path":
			return
		case opt == "--git-dir" || opt == "--work-tree":
			a.redirect = true
		case opt == "-c" || opt == "--config-env" || opt == "--exec-path":
			configured = configured || opt != "--exec-path" || hasValue
		}
		if takes, known := gitGlobal[opt]; known {
			if takes && !hasValue && opt != "-c" || opt == "-c" {
				i++ // the option's value
			}
			continue
		}
		if strings.HasPrefix(s, "-") {
			a.unknown("git option %s is not one factory knows", s)
			return
		}
		if configured && safeGit[s] {
			a.found("git -c ... "+s, false) // a pager, alias or editor from -c could commit
			return
		}
		a.gitSub(s)
		return
	}
	if appended {
		a.unknown("the git subcommand comes from xargs' input")
	}
}

// gitSub classifies one git subcommand.
func (a *analyzer) gitSub(sub string) {
	switch {
	case safeGit[sub]:
	case sub == "push" || sub == "send-pack":
		a.found("git "+sub, true)
	default:
		a.found("git "+sub, false)
	}
}

// hiddenGit finds git commit-making subcommands inside the arguments of
// another program (python -c "subprocess.run(['git','commit'])", echo ...
// | sh): a textual match, so it errs towards checking the trees.
var hiddenGit = regexp.MustCompile(`\bgit\b[^;&|\n]{0,200}?\b(commit|commit-tree|push|send-pack|merge|rebase|cherry-pick|revert|am|pull|update-ref|filter-branch|filter-repo|fast-import|replace)\b`)

func (a *analyzer) scanWords(words []*syntax.Word) {
	parts := make([]string, 0, len(words))
	for _, w := range words {
		parts = append(parts, lossy(w))
	}
	a.scanText(strings.Join(parts, " "))
}

func (a *analyzer) scanText(s string) {
	a.scanTamper(s)
	for _, m := range hiddenGit.FindAllStringSubmatch(s, -1) {
		sub := m[1]
		a.found("git "+sub+" (inside another program's arguments)", sub == "push" || sub == "send-pack")
	}
}

// tamperMarks are names of factory's hooks and records. A command naming
// one is refused whatever the tree: changing them is the person's call.
var tamperMarks = []struct{ mark, why string }{
	{"hookspath", "it names core.hooksPath, which decides whether factory's git hook runs"},
	{".git/hooks", "it names .git/hooks, where factory's git hook lives"},
	{"pre-commit.factory", "it names factory's git hook"},
	{"refs/factory/accepted", "it names refs/factory/accepted, factory's record of the trees the gate accepted"},
	{".claude/settings", "it names .claude/settings, where factory's Claude Code hooks live"},
}

func (a *analyzer) scanTamper(s string) {
	l := strings.ToLower(s)
	for _, t := range tamperMarks {
		if strings.Contains(l, t.mark) {
			a.tamper(t.why)
		}
	}
}

// literal returns the value of w when it has no expansion at all: plain
// text, quoted text and escapes. Parameters, command substitutions,
// arithmetic, globs and brace expansions make it not literal.
func literal(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			if strings.ContainsAny(p.Value, "*?[") || strings.Contains(p.Value, "{") && (strings.Contains(p.Value, ",") || strings.Contains(p.Value, "..")) {
				return "", false
			}
			b.WriteString(unescape(p.Value, false))
		case *syntax.SglQuoted:
			if p.Dollar && strings.Contains(p.Value, `\`) {
				return "", false
			}
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(unescape(l.Value, true))
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// unescape removes the shell's backslash escapes from a literal: outside
// quotes every backslash escapes the next character; inside double quotes
// only $ ` " \ and newline are escaped.
func unescape(s string, dq bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (!dq || strings.IndexByte("$`\"\\\n", s[i+1]) >= 0) {
			i++
			if s[i] == '\n' {
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// lossy is w's text with quotes removed and expansions printed as written:
// enough to search for names.
func lossy(w *syntax.Word) string {
	if s, ok := literal(w); ok {
		return s
	}
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(unescape(p.Value, false))
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				if l, ok := q.(*syntax.Lit); ok {
					b.WriteString(unescape(l.Value, true))
				} else {
					b.WriteString(printNode(q))
				}
			}
		default:
			b.WriteString(printNode(p))
		}
	}
	return b.String()
}

func printWord(w *syntax.Word) string { return "`" + factory.Clip(printNode(w), 80) + "`" }

func printNode(n syntax.Node) string {
	var b strings.Builder
	if err := syntax.NewPrinter().Print(&b, n); err != nil {
		return "?"
	}
	return b.String()
}
