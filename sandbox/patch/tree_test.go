package patch

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// A tree archive is a txtar-like text: a preamble of directives, then files,
// each introduced by a line "-- path --", "-- path (mode 755) --",
// "-- path (noeol) --", "-- path (base64) --" or "-- link -> target --".

type archiveFile struct {
	path, target string
	data         []byte
	exec         bool
}

type archive struct {
	preamble []string
	files    []archiveFile
}

func parseArchive(t testing.TB, text string) archive {
	var a archive
	var cur *archiveFile
	var attrs []string
	var body strings.Builder
	flush := func() {
		if cur == nil {
			return
		}
		data := body.String()
		for _, at := range attrs {
			switch at {
			case "noeol":
				data = strings.TrimSuffix(data, "\n")
			case "base64":
				b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
				require.NoError(t, err, cur.path)
				data = string(b)
			case "mode 755":
				cur.exec = true
			}
		}
		if cur.target == "" {
			cur.data = []byte(data)
		}
		a.files = append(a.files, *cur)
		cur, attrs = nil, nil
		body.Reset()
	}
	for _, l := range strings.SplitAfter(text, "\n") {
		if strings.HasPrefix(l, "-- ") && strings.HasSuffix(strings.TrimRight(l, "\n"), " --") {
			flush()
			h := strings.TrimSuffix(strings.TrimPrefix(strings.TrimRight(l, "\n"), "-- "), " --")
			cur = &archiveFile{}
			if name, target, ok := strings.Cut(h, " -> "); ok {
				cur.path, cur.target = name, target
				continue
			}
			for strings.HasSuffix(h, ")") {
				i := strings.LastIndex(h, " (")
				attrs = append(attrs, h[i+2:len(h)-1])
				h = h[:i]
			}
			cur.path = h
			continue
		}
		if cur == nil {
			if s := strings.TrimSpace(l); s != "" {
				a.preamble = append(a.preamble, s)
			}
			continue
		}
		body.WriteString(l)
	}
	flush()
	return a
}

func (a archive) directive(name string) (string, bool) {
	for _, l := range a.preamble {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v), true
		}
		if l == name {
			return "", true
		}
	}
	return "", false
}

// materialize writes the archive's files under dir.
func materialize(t testing.TB, dir string, a archive) {
	for _, f := range a.files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if f.target != "" {
			require.NoError(t, os.Symlink(f.target, p))
			continue
		}
		mode := os.FileMode(0o644)
		if f.exec {
			mode = 0o755
		}
		require.NoError(t, os.WriteFile(p, f.data, mode))
		require.NoError(t, os.Chmod(p, mode))
	}
}

// dumpTree renders every file under dir (skipping .git) as an archive.
func dumpTree(t testing.TB, dir string) string {
	var b strings.Builder
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(paths)
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		info, err := os.Lstat(p)
		require.NoError(t, err)
		if info.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			require.NoError(t, err)
			fmt.Fprintf(&b, "-- %s -> %s --\n", rel, target)
			continue
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		attrs := ""
		if info.Mode()&0o111 != 0 {
			attrs += " (mode 755)"
		}
		s := string(data)
		switch {
		case !utf8.Valid(data) || strings.ContainsRune(s, 0):
			attrs += " (base64)"
			s = base64.StdEncoding.EncodeToString(data) + "\n"
		case s != "" && !strings.HasSuffix(s, "\n"):
			attrs += " (noeol)"
			s += "\n"
		}
		fmt.Fprintf(&b, "-- %s%s --\n%s", rel, attrs, s)
	}
	return b.String()
}

// fingerprint hashes every path, type, mode, content and mtime under dir
// (including .git): equal fingerprints mean nothing was touched.
func fingerprint(t testing.TB, dir string) string {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00%v\x00%d\x00", rel, info.Mode(), info.ModTime().UnixNano())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(h, "%s\x00", target)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}
