// Package gittest runs the real git for tests, one way in every package: in
// a directory, with a fixed identity, C messages, and neither the user's nor
// the system's configuration, so a developer's ~/.gitconfig (commit
// signing, a hooks path, another default branch) cannot change what a test
// sees, and a test run from inside a git hook does not inherit its GIT_DIR.
// It is imported by test files only.
package gittest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Env is the environment git runs in: this process's, without any GIT_*
// variable, plus no configuration but the repository's, a fixed author
// and committer, and the C locale.
func Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	return append(env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t", "LC_ALL=C")
}

// Cmd runs git args in dir, with stdin when it is not empty, and returns
// its combined output as printed.
func Cmd(dir, stdin string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env()
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Run runs git args in dir, fails the test if git fails, and returns the
// output as printed.
func Run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := Cmd(dir, "", args...)
	require.NoError(t, err, "git %v: %s", args, out)
	return out
}

// Out is Run's output without the space around it.
func Out(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return strings.TrimSpace(Run(t, dir, args...))
}
