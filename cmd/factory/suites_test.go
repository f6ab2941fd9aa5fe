package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func commitAll(t *testing.T, repo string) {
	t.Helper()
	for _, args := range [][]string{{"add", "-A"}, {"-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "rules"}} {
		o, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput()
		require.NoError(t, err, string(o))
	}
}

// A repository without a Makefile gets no make suite from detection; the
// starter's placeholder is called one by init, and doctor fails it.
func TestInitWithoutSuitesAndDoctorFailsThePlaceholder(t *testing.T) {
	repo := gitRepo(t)
	code, out, errOut := cli(t, nil, "init", "--root", repo)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "no test suite detected")
	commitAll(t, repo)
	code, out, _ = cli(t, nil, "doctor", "--root", repo)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, `FAIL suite      suite unit: no Makefile with a "test" target at the root`)
}

// A vitest project whose node_modules was not installed: doctor says the
// runner is missing and to run npm ci; once it is there, the check passes.
func TestDoctorChecksTheDetectedRunnerExists(t *testing.T) {
	repo := gitRepo(t)
	require.NoError(t, os.WriteFile(filepath.Join(repo, "package.json"), []byte(`{"scripts":{"test":"vitest run"},"devDependencies":{"vitest":"^3"}}`), 0o644))
	code, out, errOut := cli(t, nil, "init", "--root", repo)
	require.Equal(t, 0, code, errOut)
	data, err := os.ReadFile(filepath.Join(repo, "factory.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(data), "node_modules/.bin/vitest")
	commitAll(t, repo)
	_, out, _ = cli(t, nil, "doctor", "--root", repo)
	assert.Contains(t, out, "FAIL suite      suite node: node_modules/.bin/vitest does not exist in the workspace")
	assert.Contains(t, out, "fix: run `npm ci`")

	bin := filepath.Join(repo, "node_modules", ".bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bin, "vitest"), []byte("#!/bin/sh\n"), 0o755))
	_, out, _ = cli(t, nil, "doctor", "--root", repo)
	assert.Contains(t, out, "ok   suite      suite node: node_modules/.bin/vitest run --reporter=junit --outputFile=.factory/junit-vitest.xml")
}
