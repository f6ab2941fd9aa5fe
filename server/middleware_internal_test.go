package server

import (
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
)

// A step records the JSON-RPC id as the client sent it, not mcp-go's
// typed rendering of it ("int64:7").
func TestRequestIDAsSent(t *testing.T) {
	for _, c := range []struct {
		id   any
		want string
	}{
		{mcp.NewRequestId(int64(7)), "7"},
		{mcp.NewRequestId("call-7"), "call-7"},
		{mcp.NewRequestId(float64(2.5)), "2.5"},
		{mcp.NewRequestId(nil), ""},
		{int64(12), "12"},
		{nil, ""},
	} {
		assert.Equal(t, c.want, requestID(c.id), "%#v", c.id)
	}
}
