package tools_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// maxToolsList is what the tool list may cost a client's context: it is
// sent on every connection, before any work. 20,000 bytes leaves room for
// a few more tools over the ~16 KB of today's.
const maxToolsList = 20000

// TestToolsListSize measures tools/list as a client receives it, every tool
// registered, and fails past maxToolsList.
func TestToolsListSize(t *testing.T) {
	e := newEnv(t)
	msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	b, err := json.Marshal(e.srv.HandleMessage(e.ctx, msg))
	require.NoError(t, err)
	var res struct {
		Result struct {
			Tools []json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	require.NoError(t, json.Unmarshal(b, &res))
	require.Len(t, res.Result.Tools, len(everyTool), "every tool is listed")
	t.Logf("tools/list: %d bytes, %d tools", len(b), len(res.Result.Tools))
	require.LessOrEqual(t, len(b), maxToolsList, "tools/list is %d bytes: shorten descriptions or schemas", len(b))
}
