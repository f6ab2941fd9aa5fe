package watch

import (
	"log/slog"
)

// Config configures a Watcher.
type Config struct {
	// Root is the absolute path of the working tree's top directory.
	// Required.
	Root string
	// QueueSize is how many distinct touched paths the watcher holds
	// between two captures; past it, it overflows as on the kernel's
	// IN_Q_OVERFLOW and the next capture walks everything. Zero means
	// 8192.
	QueueSize int
	// Logger receives the one warning about the watch limit. Nil means
	// slog.Default().
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.QueueSize <= 0 {
		c.QueueSize = 8192
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// joinRel is the tree path of name in directory dir ("" or "a/b/").
func joinRel(dir, name string) string { return dir + name }
