package gitstore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/sandbox/textdiff"
	"github.com/go-git/go-git/v5/plumbing"
)

// gitCaptureTree asks git itself for the tree `git add -A` would write for
// dir, on a temporary copy of the index: the fallback for repositories the
// native walk does not handle (why says which feature). The user's index is
// only read.
func (s *Store) gitCaptureTree(ctx context.Context, dir, why string) (plumbing.Hash, error) {
	s.cfg.Logger.Debug("snapshot through git", "reason", why)
	tmp, err := os.MkdirTemp(s.cfg.TempDir, "factory-index-")
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer os.RemoveAll(tmp)
	tmpIndex := filepath.Join(tmp, "index")
	if err := copyFile(filepath.Join(s.cfg.GitDir, "index"), tmpIndex); err != nil && !os.IsNotExist(err) {
		return plumbing.ZeroHash, fmt.Errorf("copy index: %w", err)
	}
	env := append(proc.BaseEnv(nil),
		"GIT_DIR="+s.cfg.GitDir,
		"GIT_WORK_TREE="+dir,
		"GIT_INDEX_FILE="+tmpIndex,
		"GIT_OPTIONAL_LOCKS=0",
		"GIT_TERMINAL_PROMPT=0",
	)
	run := func(args ...string) (string, error) {
		res, err := proc.Run(ctx, proc.Cmd{Argv: append([]string{"git"}, args...), Dir: dir, Env: env, MaxOutput: 1 << 20})
		if err != nil {
			return "", err
		}
		if res.ExitCode != 0 {
			return "", factory.Errorf(factory.EINTERNAL, "git %s failed (exit %d): %s", strings.Join(args, " "), res.ExitCode, textdiff.Clip(strings.TrimSpace(string(res.Stderr)), 500))
		}
		return strings.TrimSpace(string(res.Stdout)), nil
	}
	if _, err := run("add", "-A"); err != nil {
		return plumbing.ZeroHash, err
	}
	out, err := run("write-tree")
	if err != nil {
		return plumbing.ZeroHash, err
	}
	h, ok := gitdir.ParseHex(out)
	if !ok {
		return plumbing.ZeroHash, factory.Errorf(factory.EUNAVAILABLE, "git write-tree printed %q; factory supports SHA-1 repositories only", textdiff.Clip(out, 80))
	}
	return h, nil
}

// copyFile copies from to a new file to, keeping from's mtime: git's
// racy-timestamp rule compares index entries with the index file's mtime,
// and a copy with a fresh mtime would make git trust the stat data of files
// edited in the same second as the index was written.
func copyFile(from, to string) (err error) {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	defer func() {
		if err == nil {
			err = os.Chtimes(to, fi.ModTime(), fi.ModTime())
		}
	}()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
