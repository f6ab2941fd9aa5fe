package traces

import "context"

// OpenFallback opens the store with FTS5 ignored even when it is compiled
// in, so that tests exercise the LIKE fallback in every build.
func OpenFallback(ctx context.Context, cfg Config) (*Store, error) {
	cfg.noFTS = true
	return Open(ctx, cfg)
}

// GitleaksRules reports how many gitleaks rules redaction uses and which
// it left out.
func GitleaksRules() (int, []string) {
	rules, skipped := loadRules(gitleaksTOML)
	return len(rules), skipped
}
