package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/factory-dev/factory"
)

func runCall(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "call", "[flags] TOOL ['{json}' | -]", `Run one tool in-process against the workspace, recorded in the run log like a
served call, and print its structured result as JSON. Arguments are a JSON
object, or - to read it from stdin. Exit 0 on success, 1 when the tool
returned an error result (printed on stderr) or a rejection (accepted or
applied false, printed on stdout like any result), 2 on usage errors.`)
	var c common
	c.register(fs, env)
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return usageError{"want a tool name and optionally its arguments as JSON"}
	}
	name := fs.Arg(0)
	raw := []byte("{}")
	if fs.NArg() == 2 {
		raw = []byte(fs.Arg(1))
		if fs.Arg(1) == "-" {
			b, err := io.ReadAll(env.stdin)
			if err != nil {
				return err
			}
			raw = b
		}
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return usageError{fmt.Sprintf("arguments are not a JSON object: %v", err)}
	}
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	srv, err := a.serverFor("", false)
	if err != nil {
		return err
	}
	res, err := srv.CallTool(ctx, name, raw)
	if err != nil {
		if factory.ErrorCode(err) == factory.ENOTFOUND {
			return usageError{factory.ErrorMessage(err)}
		}
		return err
	}
	for _, n := range res.Notices {
		fmt.Fprintf(env.stderr, "factory: %s\n", n)
	}
	var out any = res.Structured
	if out == nil {
		// A tool error: its message, then the partial result as JSON.
		m := map[string]any{"error": strings.Join(res.Text[:min(1, len(res.Text))], "")}
		if len(res.Text) > 1 {
			var partial any
			if json.Unmarshal([]byte(res.Text[1]), &partial) == nil {
				m["detail"] = partial
			}
		}
		out = m
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return err
	}
	if res.IsError {
		env.stderr.Write(buf.Bytes())
		return exitError{1}
	}
	if _, err = env.stdout.Write(buf.Bytes()); err == nil && res.Rejected {
		// a script gating on the exit code must not take a rejection
		// for a pass
		return exitError{1}
	}
	return err
}
