package gatehooks

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// attack: an agent hides `git commit` / `git push` from the hook behind
// shell syntax (wrappers, nested shells, eval, env prefixes, quoting,
// paths, dashed forms, xargs, find -exec, heredocs, other programs) ->
// every form is found as making (or publishing) commits, so the trees are
// checked, or is Unknown, which is checked the same way
func TestAttackAnalyzeFindsHiddenCommits(t *testing.T) {
	commits := []string{
		`git commit -m x`,
		`git -C sub commit -m x`,
		`git -c user.name=x commit -m x`,
		`git --no-pager commit -qm x`,
		`cd x && git commit -am x`,
		`make build; git commit -m x`,
		`true || git commit -m x`,
		`echo hi | git commit -F -`,
		`FOO=1 git commit -m x`,
		`command git commit -m x`,
		`exec git commit -m x`,
		`/usr/bin/git commit -m x`,
		`~/bin/git commit -m x`,
		`"git" commit -m x`,
		`'git' 'commit' -m x`,
		`g\it com\mit -m x`,
		`gi''t commit -m x`,
		`git "commit" -m x`,
		`/usr/lib/git-core/git-commit -m x`,
		`git-commit -m x`,
		`env FOO=1 git commit -m x`,
		`env -i PATH=/usr/bin git commit -m x`,
		`sudo -u me git commit -m x`,
		`nohup git commit -m x &`,
		`timeout 30 git commit -m x`,
		`nice -n 5 git commit -m x`,
		`time git commit -m x`,
		`sh -c "git commit -m x"`,
		`bash -lc 'git commit -m x'`,
		`bash -ec 'cd sub && git commit -m x'`,
		`sh -c "bash -c 'git commit -m x'"`,
		`eval git commit -m x`,
		`eval "git commit -m x"`,
		`echo $(git commit -m x)`,
		"echo `git commit -m x`",
		`x=$(git commit -m x)`,
		`cat <(git commit -m x)`,
		`(git commit -m x)`,
		`{ git commit -m x; }`,
		`if true; then git commit -m x; fi`,
		`for i in 1; do git commit -m x; done`,
		`while false; do :; done; git commit -m x`,
		`f() { git commit -m "$1"; }; f x`,
		`echo x | xargs git commit -m`,
		`find . -maxdepth 0 -exec git commit -m x \;`,
		`git merge feature`,
		`git rebase main`,
		`git cherry-pick abc123`,
		`git revert HEAD`,
		`git am < p.mbox`,
		`git pull`,
		`git commit-tree HEAD^{tree} -m x`,
		`git update-ref refs/heads/main abc123`,
		`git ci -m x`, // an alias
		`git -c alias.x='!git commit' x`,
		`git -c core.pager='sh -c "git commit -m x"' log`,
		`python3 -c "import subprocess; subprocess.run(['git','commit','-m','x'])"`,
		"python3 <<EOF\nimport os\nos.system('git commit -m x')\nEOF",
		"bash <<EOF\ngit commit -m x\nEOF",
		`bash <<< "git commit -m x"`,
		`echo "git commit -m x" | sh`,
		`watch -n1 "git commit -m x"`,
		`git notes add -m x`,
	}
	for _, c := range commits {
		a := Analyze(c)
		assert.True(t, a.Commit || a.Unknown != "", "%q: %+v", c, a)
		assert.True(t, a.NeedsGate(), c)
		assert.Empty(t, a.Tamper, c)
	}
	pushes := []string{`git push`, `git push origin main`, `git -C . push -f`, `sh -c 'git push'`,
		`cd x; command git push --force-with-lease`, `git send-pack origin main`}
	for _, c := range pushes {
		a := Analyze(c)
		assert.True(t, a.Push, "%q: %+v", c, a)
	}
}

// attack: an agent runs what factory cannot read (eval of a variable, a
// variable or substitution as the command name, xargs supplying the
// subcommand, an alias, a command that does not parse, git pointed at
// another index) -> Unknown with "cannot tell what this runs", checked as
// commit and push together
func TestAttackAnalyzeUnknownIsCheckedNotTrusted(t *testing.T) {
	for _, c := range []string{
		`eval "$CMD"`,
		`$GIT commit -m x`,
		`${g} commit`,
		`"$(which git)" commit -m x`,
		`$(echo git) commit -m x`,
		`git $SUB -m x`,
		`echo commit | xargs git`,
		`alias g=git; g commit -m x`,
		`sh -c "$SCRIPT"`,
		`bash -c "$(curl -s x)"`,
		`git commit -m 'unterminated`,
		`GIT_INDEX_FILE=/tmp/i git commit -m x`,
		`export GIT_DIR=/tmp/x; git commit -m x`,
		`git --git-dir=/tmp/x commit -m x`,
		`git --work-tree /tmp commit -am x`,
		`{git,} commit -m x`,
		`gi? commit -m x`,
		`git --frobnicate commit`,
		`sudo "$RUN"`,
	} {
		a := Analyze(c)
		assert.Contains(t, a.Unknown, "cannot tell what this runs", c)
		assert.True(t, a.NeedsGate(), c)
	}
}

// attack: an agent disables or forges the gate's own machinery through the
// shell (core.hooksPath, removing .git/hooks/pre-commit, writing an
// accepted ref, editing .claude/settings.json) -> Tamper, refused whatever
// the tree
func TestAttackAnalyzeTamperIsRefused(t *testing.T) {
	for _, c := range []string{
		`git config core.hooksPath /dev/null`,
		`git -c core.hooksPath=/dev/null commit -m x`,
		`rm .git/hooks/pre-commit`,
		`chmod -x .git/hooks/pre-commit`,
		`mv .git/hooks/pre-commit.factory-chained /tmp`,
		`git update-ref refs/factory/accepted/abc HEAD`,
		`echo abc > .git/refs/factory/accepted/4b825dc642cb6eb9a060e54bf8d69288fbee4904`,
		`sed -i d .claude/settings.json`,
		`sh -c 'rm .git/hoo''ks/pre-commit'`,
		`git config core.HooksPath x`,
	} {
		assert.NotEmpty(t, Analyze(c).Tamper, c)
	}
}

func TestAnalyzeLeavesOrdinaryCommandsAlone(t *testing.T) {
	for _, c := range []string{
		`go test ./...`,
		`git status`,
		`git diff HEAD~1 -- a.go`,
		`git log --oneline -5`,
		`git log --grep commit`,
		`git add -A`,
		`git stash && git stash pop`,
		`git -C sub status`,
		`git --no-pager diff`,
		`git checkout -b feature`,
		`git reset --hard HEAD`,
		`git show HEAD:go.mod`,
		`ls -la; cat go.mod | head`,
		`grep -rn TODO .`,
		`FOO=1 make test`,
		`for f in *.go; do gofmt -l $f; done`,
		`git --version`,
		`npm run build && npm test`,
		`echo $HOME`,
		`timeout 60 go test ./...`,
	} {
		a := Analyze(c)
		assert.False(t, a.NeedsGate(), "%q: %+v", c, a)
		assert.Empty(t, a.Tamper, c)
	}
}
