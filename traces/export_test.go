package traces

import "context"

// OpenFallback opens the store with FTS5 ignored even when it is compiled
// in, so that tests exercise the LIKE fallback in every build.
func OpenFallback(ctx context.Context, cfg Config) (*Store, error) {
	cfg.noFTS = true
	return Open(ctx, cfg)
}

// ReadOnly returns cfg opening the file with SQLite's mode=ro, as a
// read-only file or file system would: as root, chmod stops no write.
func ReadOnly(cfg Config) Config {
	cfg.readOnly = true
	return cfg
}

// MaxPages returns cfg capping the file at n pages, so that SQLite itself
// reports a full disk (SQLITE_FULL) once a write needs more.
func MaxPages(cfg Config, n int) Config {
	cfg.maxPages = n
	return cfg
}

// OpenWithoutJournal opens the store with RecordStep waiting for its
// commit instead of going through the step journal, so that benchmarks
// measure what the journal saves.
func OpenWithoutJournal(ctx context.Context, cfg Config) (*Store, error) {
	cfg.noJournal = true
	return Open(ctx, cfg)
}
