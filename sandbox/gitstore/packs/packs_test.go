package packs

import (
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// A pack entry's header encodes type and size as git reads them.
func TestPackEntryHeader(t *testing.T) {
	require.Equal(t, []byte{0x3f}, EntryHeader(plumbing.BlobObject, 15))
	require.Equal(t, []byte{0xb0, 0x01}, EntryHeader(plumbing.BlobObject, 16))
	require.Equal(t, []byte{0x9f, 0x80, 0x01}, EntryHeader(plumbing.CommitObject, 15+16*128))
}
