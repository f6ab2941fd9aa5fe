package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/factory-dev/factory/invariants/rules"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/factory-dev/factory/tools"
)

func runInit(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "init", "[flags]", `Write a commented factory.yaml for this repository, with the test suites
detected from its files (go.mod, package.json, pyproject.toml, Cargo.toml),
and print how to register factory with Claude Code and Claude Desktop.
With --hooks, also install the hooks that make the gate the way into the
branch (a git pre-commit hook, Claude Code's PreToolUse and Stop hooks in
.claude/settings.json); an existing factory.yaml is then left as it is.`)
	var c common
	c.register(fs, env)
	force := fs.Bool("force", false, "overwrite an existing factory.yaml")
	hooks := fs.Bool("hooks", false, "install the git pre-commit hook and Claude Code hooks that refuse commits of trees the gate did not accept")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	path := rules.ConfigPath(a.ws.Root())
	if _, err := os.Stat(path); err == nil && !*force && *hooks {
		fmt.Fprintf(env.stdout, "%s exists; left as it is\n", path)
		return installHooks(ctx, env, a.ws)
	} else if err == nil && !*force {
		return fmt.Errorf("%s exists; edit it, or pass --force to replace it", path)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	suites := testrun.DetectSuites(a.ws.Root())
	lang := ""
	if len(suites) > 0 {
		lang = suites[0].Name
	}
	data := rules.StarterConfig(suites, lang)
	if _, err := rules.Parse(path, data); err != nil {
		return fmt.Errorf("the starter file does not parse (a bug): %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %s (%d suites detected)\n", path, len(suites))
	if len(suites) == 0 {
		fmt.Fprintln(env.stdout, "no test suite detected: the suite in factory.yaml is a placeholder; replace its run command with the one that runs your tests (factory doctor checks it)")
	}
	for _, s := range suites {
		if strings.HasPrefix(s.JUnitPath, ".factory/") {
			added, err := ignoreLine(filepath.Join(a.ws.Root(), ".gitignore"), ".factory/")
			if err != nil {
				return err
			}
			if added {
				fmt.Fprintln(env.stdout, "added .factory/ (test reports) to .gitignore")
			}
			break
		}
	}
	fmt.Fprintln(env.stdout)
	exe, _ := os.Executable()
	fmt.Fprintf(env.stdout, `Claude Code:
  claude mcp add factory -- %[1]s serve

or .mcp.json at the repository root:
  {"mcpServers": {"factory": {"command": %[1]q, "args": ["serve"]}}}

Claude Desktop (claude_desktop_config.json):
  {"mcpServers": {"factory": {"command": %[1]q, "args": ["serve", "--root", %[2]q]}}}
`, exe, a.ws.Root())
	fmt.Fprintln(env.stdout)
	if c, ignored := tools.IgnoredConfig(ctx, a.ws); ignored {
		// the rules are read from HEAD: an ignored file never gets there
		return fmt.Errorf("%s\nfix: %s", c.Detail, c.Fix)
	}
	fmt.Fprintln(env.stdout, "The rules apply once committed: git add factory.yaml && git commit")
	if *hooks {
		return installHooks(ctx, env, a.ws)
	}
	return nil
}

// ignoreLine appends line to the ignore file unless it is there already.
func ignoreLine(path, line string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == line {
			return false, nil
		}
	}
	if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
		data = append(data, '\n')
	}
	return true, os.WriteFile(path, append(data, line+"\n"...), 0o644)
}
