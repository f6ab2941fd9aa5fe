package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/copies"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/watch"
)

// Open opens the workspace that contains cfg.Root. It fails with EINVALID
// when cfg.Root is not inside a git working tree, saying how to fix it.
func Open(ctx context.Context, cfg Config) (*Workspace, error) {
	if cfg.Root == "" {
		return nil, factory.Errorf(factory.EINVALID, "no workspace root given")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Keep == 0 {
		cfg.Keep = 500
	}
	abs, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, factory.Wrap("open workspace", err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, factory.Errorf(factory.EINVALID, "workspace %s is not a directory; pass --root with an existing directory", abs)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, factory.Wrap("open workspace", err)
	}
	top, gitDir, err := findRepo(abs)
	if err != nil {
		return nil, err
	}
	var wt *watch.Watcher
	sc := gitstore.Config{Root: top, GitDir: gitDir, TempDir: cfg.TempDir, Logger: cfg.Logger}
	if cfg.Watch {
		if wt, err = watch.New(watch.Config{Root: top, QueueSize: cfg.WatchQueue, Logger: cfg.Logger}); err != nil {
			// No inotify instance left (max_user_instances): snapshots
			// walk, as without a watcher.
			cfg.Logger.Warn("workspace watcher off: every snapshot walks the whole tree", "err", err)
		} else {
			sc.Watcher = wt
		}
	}
	store, err := gitstore.Open(sc)
	if err != nil {
		if wt != nil {
			wt.Close()
		}
		return nil, err
	}
	cp := copies.New(copies.Config{Store: store, TempDir: cfg.TempDir, Logger: cfg.Logger})
	return &Workspace{cfg: cfg, root: top, gitDir: gitDir, store: store, copies: cp, watch: wt}, nil
}

// findRepo walks up from dir to the first directory holding .git (a
// directory, or a file "gitdir: <path>" as in linked worktrees and
// submodules) and returns that directory and the git dir.
func findRepo(dir string) (top, gitDir string, err error) {
	for d := dir; ; {
		p := filepath.Join(d, ".git")
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return d, p, nil
		case err == nil:
			b, err := os.ReadFile(p)
			if err != nil {
				return "", "", factory.Wrap("read "+p, err)
			}
			var target string
			if _, err := fmt.Sscanf(string(b), "gitdir: %s", &target); err != nil {
				return "", "", factory.Errorf(factory.EINVALID, "%s is not a valid .git file", p)
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(d, target)
			}
			return d, filepath.Clean(target), nil
		case !errors.Is(err, os.ErrNotExist):
			return "", "", factory.Wrap("stat "+p, err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", factory.Errorf(factory.EINVALID,
				"%s is not inside a git repository; run `git init` there, or pass --root (or set CLAUDE_PROJECT_DIR) to a directory inside one", dir)
		}
		d = parent
	}
}
