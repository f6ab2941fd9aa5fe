package tools

import "github.com/mark3labs/mcp-go/mcp"

// RejectedMeta is the _meta key of a result that is a verdict against the
// change: a rejection or a patch that does not apply is an answer
// (isError false, the verdicts in the structured content), so the client
// reads it as one, and the run log tells it from a success by this mark.
const RejectedMeta = "factory.dev/rejected"

// markRejected marks res as a rejection when rejected.
func markRejected(res *mcp.CallToolResult, rejected bool) *mcp.CallToolResult {
	if rejected {
		res.Meta = mcp.NewMetaFromMap(map[string]any{RejectedMeta: true})
	}
	return res
}

// Rejected reports whether a tool's result is a verdict against the change
// (see RejectedMeta).
func Rejected(res *mcp.CallToolResult) bool {
	if res == nil || res.Meta == nil || res.IsError {
		return false
	}
	v, _ := res.Meta.AdditionalFields[RejectedMeta].(bool)
	return v
}
