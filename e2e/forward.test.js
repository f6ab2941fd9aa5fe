// The forward workflow as an agent really works, with the official client
// over stdio: edit the working tree with plain file writes (as an editor
// tool would), then ask the gate to judge the tree as it is, and land it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectStdio, makeRepo, structured } from './harness.js';

const rules = `version: 1
suites:
  unit: {run: [go, test, -json, ./...], format: go-json, timeout: 5m}
gates:
  tests: {suite: unit}
invariants:
  - {id: no-new-failures, expr: "len(tests.new_failures) == 0 && tests.build_errors <= baseline.tests.build_errors"}
  - {id: golden-untouched, protect: ["golden/**"]}
`;
const calc = 'package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n';
const calcTest = 'package calc\n\nimport "testing"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(2, 2) != 4 {\n\t\tt.Fatal("Add(2, 2) != 4")\n\t}\n}\n';

// Gates send progress: the client's timeout restarts with each, so a busy
// machine never fails the test by the client's default 60 s.
const patient = { timeout: 120000, resetTimeoutOnProgress: true, maxTotalTimeout: 900000, onprogress: () => {} };

// goRepo is a module with one passing test, and git hooks that leave a
// mark outside the repository if anything runs them.
function goRepo(t) {
  const root = makeRepo(t);
  const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  mkdirSync(join(root, 'calc'));
  mkdirSync(join(root, 'golden'));
  writeFileSync(join(root, 'go.mod'), 'module example.com/fw\n\ngo 1.22\n');
  writeFileSync(join(root, 'factory.yaml'), rules);
  writeFileSync(join(root, 'calc', 'calc.go'), calc);
  writeFileSync(join(root, 'calc', 'calc_test.go'), calcTest);
  writeFileSync(join(root, 'golden', 'want.txt'), 'golden\n');
  git('add', '-A');
  git('commit', '-qm', 'calc');
  const marks = mkdtempSync(join(tmpdir(), 'factory-e2e-hooks-'));
  t.after(() => rmSync(marks, { recursive: true, force: true }));
  const mark = join(marks, 'ran');
  for (const h of ['pre-commit', 'prepare-commit-msg', 'commit-msg', 'post-commit', 'reference-transaction']) {
    writeFileSync(join(root, '.git', 'hooks', h), `#!/bin/sh\necho ${h} >> ${mark}\n`);
    chmodSync(join(root, '.git', 'hooks', h), 0o755);
  }
  return { root, git, mark };
}

test('change_propose {} judges the working tree: a rejection is an answer, the fix lands as a commit of the gated tree', async (t) => {
  const { root, git, mark } = goRepo(t);
  const client = await connectStdio(t, root);
  const head = git('rev-parse', 'HEAD');

  // an editor's plain write breaks the test
  const broken = calc.replace('a + b', 'a - b');
  writeFileSync(join(root, 'calc', 'calc.go'), broken);
  const rejected = await client.callTool({ name: 'change_propose', arguments: {} }, undefined, patient);
  assert.ok(!rejected.isError, JSON.stringify(rejected.content)); // isError false (left out)
  const r = rejected.structuredContent;
  assert.equal(r.accepted, false);
  assert.match(r.reason, /no-new-failures failed; the working tree is left as it is/);
  const failing = r.verdicts.find((v) => v.id === 'no-new-failures');
  assert.equal(failing.status, 'fail');
  assert.ok(failing.evidence.some((e) => e.includes('example.com/fw/calc.TestAdd')), JSON.stringify(failing.evidence));
  assert.equal(readFileSync(join(root, 'calc', 'calc.go'), 'utf8'), broken, 'the working tree is left as it is');
  assert.equal(git('rev-parse', 'HEAD'), head);

  // the run log records a rejection, not a tool error
  const errors = structured(await client.callTool({ name: 'trace_query', arguments: { run: 'current', status: 'tool_error' } }));
  assert.deepEqual((errors.steps ?? []).map((s) => s.tool), []);
  const rejections = structured(await client.callTool({ name: 'trace_query', arguments: { run: 'current', status: 'rejected' } }));
  assert.deepEqual((rejections.steps ?? []).map((s) => s.tool), ['change_propose']);

  // the fix, plus a new file nobody ran git add on
  writeFileSync(join(root, 'calc', 'calc.go'), calc);
  writeFileSync(join(root, 'calc', 'sub.go'), 'package calc\n\n// Sub subtracts.\nfunc Sub(a, b int) int { return a - b }\n');
  const landed = structured(await client.callTool({ name: 'change_propose', arguments: { commit: true, message: 'calc: Sub' } }, undefined, patient));
  assert.equal(landed.accepted, true, landed.reason);
  assert.equal(landed.commit_error, undefined);
  assert.equal(existsSync(mark), false, `no repository hook ran: ${existsSync(mark) && readFileSync(mark, 'utf8')}`);
  assert.equal(git('rev-parse', 'HEAD'), landed.commit);
  assert.equal(git('rev-parse', 'HEAD~1'), head);
  const gated = structured(await client.callTool({ name: 'snapshot_list', arguments: { limit: 200 } })).snapshots.find((s) => s.id === landed.result);
  assert.ok(gated, 'the accepted snapshot is recorded');
  assert.equal(git('rev-parse', 'HEAD^{tree}'), gated.tree, "HEAD's tree is the gated tree");
  assert.equal(git('status', '--porcelain'), '', 'git status is clean');
  const message = git('log', '-1', '--format=%B');
  assert.match(message, /^calc: Sub/);
  assert.match(message, /Factory-Run: /);
  assert.match(message, /Factory-Verdicts: .*no-new-failures=pass/);
});

test('an already-applied patch is answered as such; patch_apply conflicts are answers, not dry runs', async (t) => {
  const { root } = goRepo(t);
  const client = await connectStdio(t, root);
  const patch = ['--- a/calc/calc.go', '+++ b/calc/calc.go', '@@ -1,4 +1,4 @@', ' package calc', ' ', '-// Add adds.', '+// Add returns a+b.', ' func Add(a, b int) int { return a + b }', ''].join('\n');
  writeFileSync(join(root, 'calc', 'calc.go'), calc.replace('// Add adds.', '// Add returns a+b.'));

  const proposed = await client.callTool({ name: 'change_propose', arguments: { patch } }, undefined, patient);
  assert.ok(!proposed.isError);
  assert.equal(proposed.structuredContent.accepted, false);
  assert.equal(proposed.structuredContent.already_applied, true);
  assert.match(proposed.structuredContent.reason, /already applied to the working tree; call change_propose without a patch/);

  const applied = await client.callTool({ name: 'patch_apply', arguments: { patch } });
  assert.ok(!applied.isError);
  assert.equal(applied.structuredContent.applied, false);
  assert.equal(applied.structuredContent.already_applied, true);
  assert.equal(applied.structuredContent.dry_run, undefined, 'nobody asked for a dry run');

  const conflict = await client.callTool({ name: 'patch_apply', arguments: { patch: patch.replace('+// Add returns a+b.', '+// Add sums.').replace('-// Add adds.', '-// Add does.') } });
  assert.ok(!conflict.isError);
  assert.equal(conflict.structuredContent.applied, false);
  assert.equal(conflict.structuredContent.dry_run, undefined);
  assert.equal(conflict.structuredContent.conflicts[0].file, 'calc/calc.go');
  assert.match(conflict.structuredContent.reason, /nothing was written/);
});
