//go:build !darwin

package copies

import (
	"context"
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
)

// cloneSupported: directory clones (clonefile) are APFS's; Linux has
// overlays instead, and reflinks only file by file.
const cloneSupported = false

func (m *Maker) cloneCopy(context.Context, plumbing.Hash, string, Options) (*Dir, error) {
	return nil, errors.New("directory clones need macOS's clonefile")
}
