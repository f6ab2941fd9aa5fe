package proc

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// reference computes what capture must keep, from the whole stream.
func reference(all []byte, max int) []byte {
	if len(all) <= max {
		return all
	}
	head := max / 2
	tail := max - head
	out := append([]byte(nil), all[:head]...)
	out = append(out, fmt.Sprintf("\n[factory: %d bytes dropped]\n", len(all)-max)...)
	return append(out, all[len(all)-tail:]...)
}

func FuzzCapture(f *testing.F) {
	f.Add([]byte("hello world, this is a stream"), uint8(7), uint8(3))
	f.Add(bytes.Repeat([]byte("0123456789"), 50), uint8(33), uint8(17))
	f.Add([]byte("x"), uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, max, chunk uint8) {
		if max == 0 || chunk == 0 {
			return
		}
		var tee bytes.Buffer
		c := newCapture(int(max), &tee)
		for rest := data; len(rest) > 0; {
			n := min(int(chunk), len(rest))
			w, err := c.Write(rest[:n])
			require.NoError(t, err)
			require.Equal(t, n, w)
			rest = rest[n:]
			chunk = chunk*7 + 3 // vary the chunk sizes
			if chunk == 0 {
				chunk = 1
			}
		}
		got, trunc := c.bytes()
		require.Equal(t, string(reference(data, int(max))), string(got))
		require.Equal(t, len(data) > int(max), trunc)
		require.Equal(t, int64(len(data)), c.total)
		require.Equal(t, string(data), tee.String())
	})
}

func TestFilterEnv(t *testing.T) {
	environ := []string{"PATH=/bin", "HOME=/root", "AWS_SECRET_ACCESS_KEY=s", "GITHUB_TOKEN=t",
		"LC_ALL=C", "GOPRIVATE=x", "NPM_CONFIG_REGISTRY=r", "NPM_CONFIG__AUTH=a", "RANDOM=1", "PATH=/usr/bin"}
	got := filterEnv(environ, []string{"NPM_CONFIG_*", "GITHUB_TOKEN"})
	require.Equal(t, []string{"GITHUB_TOKEN=t", "GOPRIVATE=x", "HOME=/root", "LC_ALL=C",
		"NPM_CONFIG_REGISTRY=r", "PATH=/bin"}, got)
	require.Empty(t, filterEnv(nil, nil))
}
