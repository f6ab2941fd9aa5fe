package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/factory-dev/factory"
	"github.com/mark3labs/mcp-go/mcp"
)

func runCall(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "call", "[flags] TOOL ['{json}' | -]", `Run one tool in-process against the workspace, recorded in the run log like a
served call, and print its structured result as JSON. Arguments are a JSON
object, or - to read it from stdin. Exit 0 on success, 1 when the tool
returned an error result, 2 on usage errors.`)
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
	var out any = res.StructuredContent
	if out == nil {
		var texts []string
		for _, c := range res.Content {
			if t, ok := c.(mcp.TextContent); ok {
				texts = append(texts, t.Text)
			}
		}
		out = map[string]any{"content": texts}
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
	_, err = env.stdout.Write(buf.Bytes())
	return err
}
