package factory_test

import (
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
)

func TestVerdictFailing(t *testing.T) {
	for status, want := range map[string]bool{
		factory.VerdictPass:    false,
		factory.VerdictSkipped: false,
		factory.VerdictFail:    true,
		factory.VerdictError:   true,
		// a status nobody wrote is not a failure by this test; the
		// evaluator never produces one
		"": false,
	} {
		assert.Equal(t, want, factory.Verdict{Status: status}.Failing(), "status %q", status)
	}
}
