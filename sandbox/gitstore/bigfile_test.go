package gitstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/require"
)

// attack: another program keeps appending to a file larger than bigFile while snapshots capture the tree -> every capture succeeds or is an ECONFLICT saying to try again (never an internal error), each captured blob is a prefix of the final file, and git fsck finds the object store sound
func TestAttackCaptureBigFileWhileAppending(t *testing.T) {
	dir, s := packRepo(t)
	p := filepath.Join(dir, "big.log")
	require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte("0123456789abcde\n"), bigFile/16+1), 0o644))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the appender
		defer wg.Done()
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			panic(err)
		}
		defer f.Close()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			fmt.Fprintf(f, "appended %d\n", i)
		}
	}()
	var blobs [][]byte
	conflicts := 0
	for i := 0; i < 8; i++ {
		tree, err := s.Capture(context.Background(), dir)
		if err != nil {
			require.Equal(t, factory.ECONFLICT, factory.ErrorCode(err), "%v", err)
			conflicts++
			continue
		}
		e, err := s.Lookup(tree, "big.log")
		require.NoError(t, err)
		b, err := s.ReadBlob(e.Hash)
		require.NoError(t, err)
		blobs = append(blobs, b)
	}
	close(stop)
	wg.Wait()
	final, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NotEmpty(t, blobs, "every capture was a conflict (%d): an appended file must be taken as it was when opened", conflicts)
	for _, b := range blobs {
		require.Greater(t, len(b), bigFile)
		require.True(t, bytes.HasPrefix(final, b), "a captured blob of %d bytes is not what the file held", len(b))
	}
	require.Greater(t, len(final), len(blobs[0]), "the appender ran during the captures")
	gitIn(t, dir, "fsck", "--strict", "--no-dangling")
}
