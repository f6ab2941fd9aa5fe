package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attack: send a tool call whose body has no Content-Length (chunked) and runs past the cap, so no up-front length check sees it -> the read stops at the cap, the request is answered as too large, and no tool runs and no step is recorded
func TestAttackChunkedBodyPastTheCap(t *testing.T) {
	f := newFixture(t)
	url, _ := httpFixture(t, f)
	pad := strings.Repeat("x", 200<<10) // the fixture's cap is 64 KiB
	body := io.MultiReader(strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"trace_note","arguments":{"text":"`),
		strings.NewReader(pad), strings.NewReader(`"}}}`))
	req, err := http.NewRequest("POST", url, body)
	require.NoError(t, err)
	require.EqualValues(t, 0, req.ContentLength, "unknown length: sent chunked")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	assert.NotEqual(t, http.StatusOK, resp.StatusCode/100*100, "status %d: %s", resp.StatusCode, answer)
	assert.Contains(t, string(answer), "request body too large")
	assert.Empty(t, f.steps(t), "a refused request is not a step")
}
