// Issue 12, "any revision, anywhere", from outside: every argument that
// names a tree takes a git revision, and file_read reads a file as it was,
// through the official SDK client against the built binary. The index,
// HEAD and the branches stay byte-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { makeRepo, connectStdio, structured } from './harness.js';

const git = (root, ...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

const config = `version: 1
suites:
  unit: {run: [sh, -c, "test -f ok.txt"], format: exit-code}
gates:
  tests: {suite: unit}
invariants:
  - {id: tests-pass, expr: "tests.failed == 0"}
`;

// repoWithHistory: HEAD~1 has ok.txt ("v1"), HEAD deletes it, so the suite
// passes at HEAD~1 and fails at HEAD.
function repoWithHistory(t) {
  const root = makeRepo(t);
  writeFileSync(join(root, 'factory.yaml'), config);
  writeFileSync(join(root, 'ok.txt'), 'v1\nsecond line\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'with ok.txt');
  rmSync(join(root, 'ok.txt'));
  git(root, 'commit', '-qam', 'drop ok.txt');
  return root;
}

function gitState(root) {
  return {
    index: readFileSync(join(root, '.git', 'index')),
    head: git(root, 'rev-parse', 'HEAD'),
    symbolic: git(root, 'symbolic-ref', 'HEAD'),
    refs: git(root, 'for-each-ref', '--format=%(refname) %(objectname)').split('\n').filter((l) => !l.startsWith('refs/factory/')),
    status: git(root, 'status', '--porcelain'),
  };
}

test('snapshot_diff, invariant_check, test_run and file_read take revisions; git untouched', async (t) => {
  const root = repoWithHistory(t);
  const client = await connectStdio(t, root);
  const before = gitState(root);
  const call = async (name, args) => structured(await client.callTool({ name, arguments: args }));

  const diff = await call('snapshot_diff', { from: 'HEAD~1' });
  assert.deepEqual(diff.files.map((f) => [f.path, f.status]), [['ok.txt', 'deleted']]);

  const check = await call('invariant_check', { baseline: 'HEAD' });
  assert.match(check.baseline, /^s-/);
  assert.ok(Array.isArray(check.verdicts));

  const old = await call('test_run', { at: 'HEAD~1' });
  assert.equal(old.status, 'pass', 'ok.txt is there at HEAD~1');
  const now = await call('test_run', {});
  assert.notEqual(now.status, 'pass', 'and gone in the working tree');

  const file = await call('file_read', { path: 'ok.txt', at: 'HEAD~1', start_line: 2 });
  assert.equal(file.text, 'second line\n');
  assert.equal(file.total_lines, 2);
  assert.equal(file.at, git(root, 'rev-parse', 'HEAD~1'));

  for (const [name, args, want] of [
    ['snapshot_diff', { from: 'HEAD~99' }, /HEAD~99: no such revision; give a snapshot id/],
    ['test_run', { at: '--output=/tmp/factory-e2e-x' }, /snapshot/],
    ['file_read', { path: '../etc/passwd', at: 'HEAD' }, /leaves the workspace root/],
    ['file_read', { path: 'ok.txt', at: 'HEAD:../../etc/passwd' }, /no such revision/],
    ['file_read', { path: 'ok.txt' }, /not committed at HEAD/],
  ]) {
    const res = await client.callTool({ name, arguments: args });
    assert.equal(res.isError, true, `${name} ${JSON.stringify(args)}`);
    assert.match(res.content[0].text, want, `${name} ${JSON.stringify(args)}`);
  }
  assert.deepEqual(gitState(root), before, 'index, HEAD, branches and the working tree unchanged');
});
