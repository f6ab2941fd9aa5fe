package traces

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
)

// MaxBlob bounds what one blob keeps, uncompressed: a suite that floods its
// output must not fill the run log (proc already keeps 32 MiB a stream;
// reruns add to a run's log).
const MaxBlob = 64 << 20

// zipped is compressed blob data. It is not a []byte to the run log's
// scrub, which redacts byte arguments as text and would corrupt it; blobs
// are redacted before they are compressed.
type zipped []byte

// capBlob keeps the head and tail of b when it is over MaxBlob, with a line
// saying how much was dropped between them.
func capBlob(b []byte) []byte {
	if len(b) <= MaxBlob {
		return b
	}
	half := MaxBlob / 2
	out := make([]byte, 0, MaxBlob+100)
	out = append(out, b[:half]...)
	out = fmt.Appendf(out, "\n=== factory: %d bytes of output dropped here (over %d MiB) ===\n", len(b)-2*half, MaxBlob>>20)
	return append(out, b[len(b)-half:]...)
}

// gzipped compresses b, fast: logs are repetitive, so even the fastest
// level shrinks them many times, and a test run waits for this.
func gzipped(b []byte) (zipped, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return zipped(buf.Bytes()), nil
}

// gunzipped returns stored blob data uncompressed. Blobs stored before
// compression are plain text, told apart by gzip's magic bytes (a text log
// or diff never begins with 0x1f 0x8b). It reads at most MaxBlob and a
// little more, so a forged blob cannot inflate without bound.
func gunzipped(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("stored blob is not readable gzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, MaxBlob+1<<20))
	if err != nil {
		return nil, fmt.Errorf("stored blob is not readable gzip: %w", err)
	}
	return out, nil
}
