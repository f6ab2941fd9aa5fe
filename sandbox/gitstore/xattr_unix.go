//go:build unix

package gitstore

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// hasXattr reports whether path has extended attribute name.
func hasXattr(path, name string) bool {
	_, err := unix.Lgetxattr(path, name, nil)
	return err == nil
}

// hasXattrValue reports whether path's extended attribute name is value.
func hasXattrValue(path, name, value string) bool {
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(path, name, buf)
	return err == nil && bytes.Equal(buf[:n], []byte(value))
}
