// Command factory is an MCP server that gives a coding agent a real
// environment: snapshots, atomic patch apply, sandboxed test runs, invariant
// gates and a run log. `factory help` lists the commands.
//
// cmd/factory is the only package that imports everything: it parses flags,
// opens the workspace and the run log, and wires sandbox into invariants and
// tools into server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/factory-dev/factory/sandbox/proc"
)

// version is set with -ldflags "-X main.version=..." by the Makefile.
var version = ""

func factoryVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// command is one subcommand.
type command struct {
	name    string
	args    string // synopsis of the arguments
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv carries the streams, so commands are testable.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is a bad command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries a specific exit code (1 for a tool error result).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

var commands []command

func init() {
	commands = []command{
		{"serve", "[--http ADDR] [--root DIR] [--db FILE] [--read-only] [--toolsets LIST]", "serve MCP over stdio (default) or Streamable HTTP", runServe},
		{"call", "TOOL ['{json}']", "run one tool in-process and print its structured result as JSON", runCall},
		{"runs", "[--limit N]", "list recorded runs, newest first", runRuns},
		{"trace", "RUN", "show a run's steps as a tree (RUN: an id, a unique prefix, or latest)", runTrace},
		{"init", "[--force] [--hooks]", "write a commented factory.yaml for this repository and print client configs", runInit},
		{"check", "[--base REF] [--json]", "evaluate the invariants of factory.yaml; exit 1 if any fails (for CI)", runCheck},
		{"snapshot", "prune [--dry-run] [--keep N]", "manage snapshots: prune applies the retention policy", runSnapshot},
		{"hook", hookSynopsis, "decide a commit hook event (installed by init --hooks): refuse what the gate did not accept", runHook},
		{"doctor", "[--json]", "check git, the workspace, the run log, sandbox features and factory.yaml", runDoctor},
		{"version", "", "print factory's version", runVersion},
	}
}

func main() {
	proc.Init() // returns at once unless this process is a confined child
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code: 0 success, 1
// failure (or a tool error result), 2 usage error.
func run(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 {
		usage(env.stderr)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		if len(args) > 1 {
			return run(ctx, env, []string{args[1], "--help"})
		}
		usage(env.stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(ctx, env, args[1:])
		var ue usageError
		var ee exitError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(env.stderr, "factory %s: %s\nusage: factory %s %s\n", name, ue.msg, c.name, c.args)
			return 2
		case errors.As(err, &ee):
			return ee.code
		default:
			fmt.Fprintf(env.stderr, "factory %s: %s\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(env.stderr, "factory: unknown command %q; run factory help\n", name)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `factory: snapshots, atomic patches, sandboxed tests, invariant gates and a
run log for coding agents, served over MCP.

usage: factory COMMAND [flags]

commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run factory COMMAND --help for a command's flags.
Claude Code: claude mcp add factory -- factory serve
`)
}

// newFlags makes a FlagSet whose --help prints the command's synopsis and
// flags to stdout and returns flag.ErrHelp.
func newFlags(env *cliEnv, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: factory %s %s\n\n%s\n", name, synopsis, about)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(w, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args; --help prints to stdout. A bad flag is a usage error.
func parse(env *cliEnv, fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(env.stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	return nil
}
