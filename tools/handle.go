package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/factory-dev/factory"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

type requestKey struct{}

// requestFrom returns the MCP request being served (for its tool name).
func requestFrom(ctx context.Context) (mcp.CallToolRequest, bool) {
	r, ok := ctx.Value(requestKey{}).(mcp.CallToolRequest)
	return r, ok
}

// handle is the one place where tool results and errors are made:
//   - arguments that do not decode (unknown field, wrong type) are a tool
//     error naming the field;
//   - an error the agent can act on (any factory code but EINTERNAL) is a
//     tool error with its message;
//   - an internal fault is logged with an id and answered as a Go error that
//     shows only the id.
//
// It is also the one place where what a call made is written to the run log
// (Deps.record), whether the call succeeded or not: fn returns only what
// belongs there.
func handle[A, R any](d Deps, name string, fn func(context.Context, A) (R, records, error)) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args A
		if err := decodeArgs(req.GetRawArguments(), &args); err != nil {
			return mcp.NewToolResultError(fmt.Sprintf("%s: bad arguments: %v", name, err)), nil
		}
		ctx = context.WithValue(ctx, requestKey{}, req)
		res, recs, err := fn(ctx, args)
		if rerr := d.record(ctx, recs); rerr != nil && err == nil {
			// The result names a long output the run log could not keep.
			var zero R
			return errorResult(ctx, d.Log, name, rerr, zero)
		}
		if err != nil {
			return errorResult(ctx, d.Log, name, err, res)
		}
		return markRejected(mcp.NewToolResultStructuredOnly(res), recs.rejected), nil
	}
}

// errorResult maps err to what the client sees. An actionable error keeps
// the partial result the tool returned with it (a patch's conflict report, a
// proposal's failing verdicts) after the message.
func errorResult[R any](ctx context.Context, log *slog.Logger, name string, err error, partial R) (*mcp.CallToolResult, error) {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil, err
	}
	if code := factory.ErrorCode(err); code != factory.EINTERNAL {
		// No structured content: clients validate it against the output
		// schema even on error results. The partial result, if any, follows
		// the message as JSON text.
		res := mcp.NewToolResultError(factory.ErrorMessage(err))
		if !isZero(partial) {
			if b, jerr := json.Marshal(partial); jerr == nil {
				res.Content = append(res.Content, mcp.NewTextContent(string(b)))
			}
		}
		return res, nil
	}
	id := factory.NewID("e-")
	log.ErrorContext(ctx, "internal error in tool", "tool", name, "error_id", id, "err", err)
	return nil, fmt.Errorf("internal error %s in %s; the server log has the details", id, name)
}

func isZero[R any](v R) bool {
	var zero R
	a, err1 := json.Marshal(v)
	b, err2 := json.Marshal(zero)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}
