// Issues 3 and 4 from outside: snapshots, diff, restore (and its undo),
// bad input refused without change, patch apply with an offset and a
// refusal, through the official SDK client against the built binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { makeRepo, connectStdio, structured } from './harness.js';

const git = (root, ...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });

test('snapshot, edit, diff, restore, undo the restore; git state untouched', async (t) => {
  const root = makeRepo(t);
  const client = await connectStdio(t, root);
  const indexBefore = readFileSync(join(root, '.git', 'index'));
  const indexMtime = statSync(join(root, '.git', 'index')).mtimeMs;
  const headBefore = git(root, 'rev-parse', 'HEAD');

  const a = structured(await client.callTool({ name: 'snapshot_create', arguments: { label: 'start' } })).snapshot;
  assert.match(a.id, /^s-[0-9a-f]{6,}$/);
  const again = structured(await client.callTool({ name: 'snapshot_create', arguments: {} })).snapshot;
  assert.equal(again.id, a.id, 'the same tree returns the same snapshot');

  writeFileSync(join(root, 'README.md'), '# demo\nedited by a shell command\n');
  writeFileSync(join(root, 'new.txt'), 'untracked\n');
  const diff = structured(await client.callTool({ name: 'snapshot_diff', arguments: { from: a.id } }));
  const byPath = Object.fromEntries(diff.files.map((f) => [f.path, f.status]));
  assert.deepEqual(byPath, { 'README.md': 'modified', 'new.txt': 'added' });
  assert.match(diff.patch, /\+edited by a shell command/);

  const r = structured(await client.callTool({ name: 'snapshot_restore', arguments: { id: a.id } }));
  assert.equal(readFileSync(join(root, 'README.md'), 'utf8'), '# demo\n');
  assert.equal(existsSync(join(root, 'new.txt')), false);
  assert.ok(r.undo);

  structured(await client.callTool({ name: 'snapshot_restore', arguments: { id: r.undo } }));
  assert.equal(readFileSync(join(root, 'new.txt'), 'utf8'), 'untracked\n', 'the restore itself is undone');

  const list = structured(await client.callTool({ name: 'snapshot_list', arguments: { label: 'start' } }));
  assert.deepEqual(list.snapshots.map((s) => s.id), [a.id]);

  assert.deepEqual(readFileSync(join(root, '.git', 'index')), indexBefore, '.git/index bytes unchanged');
  assert.equal(statSync(join(root, '.git', 'index')).mtimeMs, indexMtime, '.git/index mtime unchanged');
  assert.equal(git(root, 'rev-parse', 'HEAD'), headBefore);
  assert.equal(git(root, 'branch', '--list').trim(), '* main');
});

test('bad input is an actionable tool error and changes nothing', async (t) => {
  const root = makeRepo(t);
  const client = await connectStdio(t, root);
  writeFileSync(join(root, 'keep.txt'), 'precious\n');
  const snapshot = structured(await client.callTool({ name: 'snapshot_create', arguments: {} })).snapshot;
  for (const [args, want] of [
    [{ id: 's-000000' }, /snapshot_list/],
    [{ id: '-rf' }, /-/],
    [{ id: 'nobranch' }, /no such revision; give a snapshot id/],
    [{ id: snapshot.id, paths: ['../outside'] }, /\.\./],
    [{ id: snapshot.id, paths: ['/etc/passwd'] }, /absolute|relative/],
  ]) {
    const res = await client.callTool({ name: 'snapshot_restore', arguments: args });
    assert.equal(res.isError, true, JSON.stringify(args));
    assert.match(res.content[0].text, want, JSON.stringify(args));
  }
  assert.equal(readFileSync(join(root, 'keep.txt'), 'utf8'), 'precious\n');
  const typo = await client.callTool({ name: 'snapshot_create', arguments: { lable: 'x' } });
  assert.equal(typo.isError, true, 'an unknown argument is refused, not ignored');
});

test('patch_apply: offset reported, conflict refused with its report, nothing half-written', async (t) => {
  const root = makeRepo(t);
  const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
  writeFileSync(join(root, 'a.txt'), lines.join('\n') + '\n');
  writeFileSync(join(root, 'b.txt'), 'one\ntwo\nthree\n');
  const client = await connectStdio(t, root);

  // The header says line 10, the context is at line 20: applied at +10.
  const shifted = ['--- a/a.txt', '+++ b/a.txt', '@@ -10,3 +10,3 @@', ' line 20', '-line 21', '+line twenty-one', ' line 22', ''].join('\n');
  const ok = structured(await client.callTool({ name: 'patch_apply', arguments: { patch: shifted } }));
  assert.equal(ok.applied, true);
  assert.deepEqual(ok.files[0].offsets, [{ hunk: 1, offset: 10 }]);
  assert.match(readFileSync(join(root, 'a.txt'), 'utf8'), /line twenty-one/);

  // Two files; the second does not apply: neither is written.
  const half = [
    '--- a/a.txt', '+++ b/a.txt', '@@ -1,2 +1,2 @@', '-line 1', '+LINE ONE', ' line 2',
    '--- a/b.txt', '+++ b/b.txt', '@@ -1,3 +1,3 @@', ' one', '-TWO', '+2', ' three', '',
  ].join('\n');
  const res = await client.callTool({ name: 'patch_apply', arguments: { patch: half } });
  assert.ok(!res.isError, 'a conflict is an answer, not a tool error');
  const report = res.structuredContent;
  assert.equal(report.applied, false);
  assert.match(report.reason, /nothing was written/);
  assert.equal(report.conflicts[0].file, 'b.txt');
  assert.deepEqual(report.conflicts[0].actual.slice(0, 3), ['one', 'two', 'three']);
  assert.match(readFileSync(join(root, 'a.txt'), 'utf8'), /^line 1\n/, 'a.txt untouched');

  const evil = ['--- a/../evil', '+++ b/../evil', '@@ -0,0 +1 @@', '+x', ''].join('\n');
  const refused = await client.callTool({ name: 'patch_apply', arguments: { patch: evil } });
  assert.equal(refused.isError, true);
  assert.match(refused.content[0].text, /\.\./);
});
