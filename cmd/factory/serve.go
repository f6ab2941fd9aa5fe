package main

import (
	"context"
	"fmt"
	"time"

	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/traces"
)

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "serve", "[flags]", `Serve MCP to one client over stdio (what Claude Code and Claude Desktop start),
or to clients over Streamable HTTP at /mcp with --http. Over HTTP every request
needs Authorization: Bearer <token>: the token is $FACTORY_TOKEN, or one made
at start and printed to stderr.`)
	var c common
	c.register(fs, env)
	httpAddr := fs.String("http", "", "serve Streamable HTTP on this address, e.g. 127.0.0.1:7777 (loopback unless FACTORY_TOKEN is set)")
	readOnly := fs.Bool("read-only", false, "register only tools that change nothing")
	keep := fs.Int("keep-snapshots", 500, "retention: unlabelled snapshots kept (newest first); labelled ones are always kept")
	toolsets := fs.String("toolsets", "", "comma-separated toolsets to register (workspace, change, test, invariants, trace; default all)")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	c.watch = true
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	shutdown, err := traces.SetupOTel(ctx, "factory", factoryVersion())
	if err != nil {
		a.log.Warn("OpenTelemetry export disabled", "err", err)
	} else {
		defer shutdown(context.WithoutCancel(ctx))
	}
	srv, err := a.serverFor(*toolsets, *readOnly)
	if err != nil {
		return err
	}
	if *keep < 1 {
		return usageError{"--keep-snapshots must be at least 1"}
	}
	rctx, stopRetain := context.WithCancel(ctx)
	defer stopRetain() // before a.close: retention never runs on a closed workspace
	go a.retain(rctx, *keep, 10*time.Minute)
	a.log.Info("factory serving", "root", a.ws.Root(), "db", a.dbPath, "version", factoryVersion())
	if *httpAddr == "" {
		return srv.ServeStdio(ctx, env.stdin, env.stdout)
	}
	token := env.getenv("FACTORY_TOKEN")
	fromEnv := token != ""
	if !fromEnv {
		token = server.GenerateToken()
	}
	return srv.ServeHTTP(ctx, server.HTTPConfig{Addr: *httpAddr, Token: token, TokenFromEnv: fromEnv}, func(addr string) {
		fmt.Fprintf(env.stderr, "factory: serving MCP at http://%s/mcp\n", addr)
		if !fromEnv {
			fmt.Fprintf(env.stderr, "factory: bearer token: %s\n", token)
		}
	})
}

// retain applies the snapshot retention policy now and every interval
// until ctx ends, so a long session does not grow refs/factory without
// bound.
func (a *app) retain(ctx context.Context, keep int, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if gone, err := a.ws.Prune(ctx, keep, false); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("snapshot retention", "err", err)
		} else if len(gone) > 0 {
			a.log.Info("snapshot retention", "removed", len(gone), "keep", keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
