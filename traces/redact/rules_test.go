package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGitleaksRulesLoad(t *testing.T) {
	rules, skipped := loadRules(gitleaksTOML)
	n := len(rules)
	assert.Greater(t, n, 200, "gitleaks' default rules are in use")
	assert.ElementsMatch(t, []string{"generic-api-key", "freemius-secret-key", "hashicorp-tf-password",
		"kubernetes-secret-yaml", "nuget-config-password", "pkcs12-file"}, skipped, "only the rules redaction cannot use are left out; none fails to compile")
}

func TestRedactUsesGitleaksRules(t *testing.T) {
	// Shapes only gitleaks' rules know: a Hugging Face token, a SendGrid key.
	for _, sec := range []string{
		"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",
		"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",
	} {
		got := Text("loaded " + sec + " done")
		assert.NotContains(t, got, sec)
		assert.Contains(t, got, "done")
	}
}
