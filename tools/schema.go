package tools

import "github.com/mark3labs/mcp-go/mcp"

// outputDepth is how deep a result's schema names fields: the result's own
// fields, each with its JSON type; what they hold is only "object" or
// "array". The schema is for the client to validate and the model to read;
// every level deeper costs context on every connection (tools/list must
// stay under 20 KB) and says little the result does not.
const outputDepth = 1

// compactOutput trims a tool's output schema to outputDepth levels of
// field names and JSON types: no additionalProperties, no required lists
// below the top.
func compactOutput(s *mcp.ToolOutputSchema) {
	s.AdditionalProperties = nil
	for k, v := range s.Properties {
		if m, ok := v.(map[string]any); ok {
			s.Properties[k] = compactNode(m, outputDepth-1)
		}
	}
}

// compactNode keeps a node's type and, while depth lasts, its fields and
// its elements' schema.
func compactNode(n map[string]any, depth int) map[string]any {
	out := map[string]any{}
	if t, ok := n["type"]; ok {
		out["type"] = t
	}
	if items, ok := n["items"].(map[string]any); ok && depth > 0 {
		out["items"] = compactNode(items, depth-1)
	}
	props, ok := n["properties"].(map[string]any)
	if !ok || depth == 0 {
		return out
	}
	kept := map[string]any{}
	for k, v := range props {
		if m, ok := v.(map[string]any); ok {
			kept[k] = compactNode(m, depth-1)
		}
	}
	out["properties"] = kept
	return out
}
