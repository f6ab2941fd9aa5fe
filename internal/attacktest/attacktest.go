// Package attacktest is what factory's adversarial tests share: a
// fingerprint of every byte, mode and link under a set of host paths, taken
// before an attack and compared after it, so each attack can assert that the
// live tree, .git and every host path it aimed at are byte-identical.
//
// Each attack test is named TestAttack<Name> and carries a comment of the
// form
//
//	// attack: <what the agent tries> -> <the refusal or harmless outcome>
//
// directly above it; docs/ATTACKS.md is generated from those lines
// (go run ./internal/attacktest/table).
package attacktest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// State maps each path under the fingerprinted roots to a description of
// what is there: kind, permission bits, and the content hash or link target.
// A root that does not exist is recorded as absent, so an attack that
// creates it is caught too.
type State map[string]string

// Take fingerprints every root (a file, a directory walked whole, or a path
// that does not exist). Directories that cannot be read are recorded as
// such rather than failing, so /root or /etc can be watched as well.
func Take(t testing.TB, roots ...string) State {
	t.Helper()
	s := State{}
	for _, r := range roots {
		s.add(r)
	}
	return s
}

func (s State) add(root string) {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				s[p] = "absent"
				return nil
			}
			s[p] = "unreadable: " + err.Error()
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		s[p] = describe(p, d)
		return nil
	})
	if err != nil {
		s[root] = "walk error: " + err.Error()
	}
}

func describe(p string, d fs.DirEntry) string {
	info, err := d.Info()
	if err != nil {
		return "stat error: " + err.Error()
	}
	mode := info.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		target, _ := os.Readlink(p)
		return "link -> " + target
	case mode.IsDir():
		return fmt.Sprintf("dir %v", mode.Perm())
	case mode.IsRegular():
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Sprintf("file %v unreadable: %v", mode.Perm(), err)
		}
		h := sha256.Sum256(b)
		return fmt.Sprintf("file %v %s", mode.Perm(), hex.EncodeToString(h[:8]))
	default:
		return fmt.Sprintf("special %v", mode)
	}
}

// Diff lists the paths whose fingerprint differs between s and other, one
// line each, sorted; empty when they are identical.
func (s State) Diff(other State) []string {
	var out []string
	for p, a := range s {
		if b, ok := other[p]; !ok {
			out = append(out, "removed: "+p+" (was "+a+")")
		} else if a != b {
			out = append(out, "changed: "+p+": "+a+" -> "+b)
		}
	}
	for p, b := range other {
		if _, ok := s[p]; !ok {
			out = append(out, "added: "+p+" ("+b+")")
		}
	}
	sort.Strings(out)
	return out
}

// Unchanged fails the test when any root fingerprinted in before differs
// now. Roots are taken again from before's own keys' roots: pass the same
// roots as to Take.
func Unchanged(t testing.TB, before State, roots ...string) {
	t.Helper()
	after := Take(t, roots...)
	if d := before.Diff(after); len(d) > 0 {
		if len(d) > 20 {
			d = append(d[:20], fmt.Sprintf("... and %d more", len(d)-20))
		}
		t.Fatalf("the attack changed host state:\n%s", strings.Join(d, "\n"))
	}
}
