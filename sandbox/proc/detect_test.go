package proc

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDescribeSaysWhatASandboxGets: doctor's isolation line names the
// confinement every sandbox of the best mode has here.
func TestDescribeSaysWhatASandboxGets(t *testing.T) {
	f := Detect()
	d := f.Describe()
	if f.Best == IsoNone {
		assert.Contains(t, d, "unconfined")
		return
	}
	assert.True(t, strings.HasPrefix(d, f.Best+": user namespace uid "), d)
	for _, want := range []string{"capabilities none", "no_new_privs", "host caches copy-on-write", "secret places hidden", ".git read-only"} {
		assert.Contains(t, d, want)
	}
	if f.Seccomp {
		assert.Contains(t, d, "seccomp")
	}
	assert.NotContains(t, d, "uid 0,", "no sandbox runs as uid 0")
}
