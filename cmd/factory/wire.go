package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/factory-dev/factory/traces/redact"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
)

// common holds the flags every workspace command takes.
type common struct {
	root     string
	db       string
	logFile  string
	logLevel string
	// watch turns on the workspace's file watcher: snapshots then re-read
	// only what changed. Set by serve, whose workspace lives long enough
	// for that to pay; one-shot commands walk once and exit.
	watch bool
}

func (c *common) register(fs *flag.FlagSet, env *cliEnv) {
	fs.StringVar(&c.root, "root", "", "workspace: a directory inside a git repository (default $CLAUDE_PROJECT_DIR, else the current directory)")
	fs.StringVar(&c.db, "db", "", "run log file (default $FACTORY_DB, else .git/factory/factory.db)")
	fs.StringVar(&c.logFile, "log-file", "", "write logs to this file instead of stderr")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
}

// app is an opened workspace with its run log.
type app struct {
	ws     *sandbox.Workspace
	store  *traces.Store
	dbPath string
	log    *slog.Logger
	close  func()
}

// open resolves the root, opens the workspace and the run log, and sets up
// logging. Logs never go to stdout.
func (c *common) open(ctx context.Context, env *cliEnv) (*app, error) {
	log, closeLog, err := c.logger(env)
	if err != nil {
		return nil, err
	}
	root := c.root
	if root == "" {
		root = env.getenv("CLAUDE_PROJECT_DIR")
	}
	if root == "" {
		if root, err = os.Getwd(); err != nil {
			closeLog()
			return nil, err
		}
	}
	ws, err := sandbox.Open(ctx, sandbox.Config{Root: root, Logger: log, Redact: redact.Stored, Watch: c.watch})
	if err != nil {
		closeLog()
		return nil, err
	}
	dbPath := c.db
	if dbPath == "" {
		dbPath = env.getenv("FACTORY_DB")
	}
	if dbPath == "" {
		dbPath = traces.DefaultPath(ws.GitDir())
	}
	// A run log that cannot be used must not stop the tools: a stand-in
	// takes its place, and every tool result and doctor say why.
	store, err := traces.OpenOrStandIn(ctx, traces.Config{Path: dbPath, Logger: log})
	if err != nil {
		ws.Close()
		closeLog()
		return nil, fmt.Errorf("open run log %s: %w", dbPath, err)
	}
	return &app{ws: ws, store: store, dbPath: dbPath, log: log, close: func() {
		ws.Close()
		store.Close()
		closeLog()
	}}, nil
}

func (c *common) logger(env *cliEnv) (*slog.Logger, func(), error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, nil, usageError{fmt.Sprintf("--log-level %q: use debug, info, warn or error", c.logLevel)}
	}
	var w io.Writer = env.stderr
	closeLog := func() {}
	if c.logFile != "" {
		f, err := os.OpenFile(c.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("open log file: %w", err)
		}
		w = f
		closeLog = func() { f.Close() }
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closeLog, nil
}

// serverFor builds the MCP server with the selected tools.
func (a *app) serverFor(toolsets string, readOnly bool) (*server.Server, error) {
	srv := server.New(server.Config{Store: a.store, Root: a.ws.Root(), Logger: a.log, Version: factoryVersion()})
	deps := a.deps(srv.Runs())
	all := tools.New(deps)
	var sets []string
	if toolsets != "" {
		sets = strings.Split(toolsets, ",")
	}
	sel, err := tools.Select(all, sets, readOnly)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	srv.Register(sel)
	for _, r := range tools.Resources(deps) {
		srv.AddResourceTemplate(r.Template, r.Handler)
	}
	for _, p := range tools.Prompts() {
		srv.AddPrompt(p.Def, p.Handler)
	}
	srv.SetCompleter(tools.NewCompleter(deps))
	return srv, nil
}

func (a *app) deps(runs tools.Runs) tools.Deps {
	d := tools.Deps{Log: a.log, Store: a.store, Workspace: a.ws, Runs: runs, Version: factoryVersion(), DBPath: a.dbPath,
		Detect: (&testrun.Detector{}).Suites} // one memory of probes for the tools and the completer
	if gate, err := a.controller(server.ChildSteps{Store: a.store}); err == nil {
		d.Gate = gate
	} else {
		a.log.Warn("the gate is off: invariant_list, invariant_check and change_propose are not served", "err", err)
	}
	return d
}
