// Issue 13's regression_find and flaky_check, from outside: the official
// SDK client over stdio bisects a repository whose suite breaks at one
// commit (with an unbuildable commit on the way) and classes the tests of
// a suite with a coin-flip test and a broken one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { makeRepo, connectStdio, structured } from './harness.js';

// A TAP suite over state.txt: "build" fails (no plan, exit 2) while the
// file says broken-build, "target" fails once it says regressed, and
// "flaky" flips a coin on every run.
const BISECT = `version: 1
suites:
  unit:
    format: tap
    run: [sh, -c, "s=$(cat state.txt); [ \\"$s\\" = broken-build ] && { echo 'build failed' >&2; exit 2; }; echo 'ok 1 - fine'; [ \\"$s\\" = regressed ] && echo 'not ok 2 - target' || echo 'ok 2 - target'; echo '1..2'"]
`;

function commit(root, msg) {
  execFileSync('git', ['add', '-A'], { cwd: root });
  execFileSync('git', ['commit', '-qm', msg], { cwd: root });
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
}

test('regression_find names the commit that broke the test, skipping a broken build', { timeout: 120000 }, async (t) => {
  const root = makeRepo(t);
  writeFileSync(join(root, 'factory.yaml'), BISECT);
  const commits = [];
  for (let i = 1; i <= 12; i++) {
    const state = i === 6 ? 'broken-build' : i >= 9 ? 'regressed' : `fine ${i}`;
    writeFileSync(join(root, 'state.txt'), state + '\n');
    writeFileSync(join(root, 'n.txt'), `${i}\n`);
    commits.push(commit(root, `commit ${i}`));
  }
  const client = await connectStdio(t, root);
  const progress = [];
  const found = structured(await client.callTool({ name: 'regression_find', arguments: { good: commits[0] } },
    CallToolResultSchema, { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 110000 }));
  assert.equal(found.first_bad.subject, 'commit 9');
  assert.equal(found.first_bad.commit, commits[8]);
  assert.equal(found.last_good.subject, 'commit 8');
  assert.match(found.diff.patch, /\+regressed/);
  assert.ok(found.probes.length <= 7, JSON.stringify(found.probes));
  assert.ok(!found.probes.some((p) => p.tree === commits[5].slice(0, 12) && p.verdict === 'fail'), 'the broken build is never blamed');
  assert.ok(found.probes.some((p) => p.tree === commits[5].slice(0, 12) && p.verdict === 'skip'), JSON.stringify(found.probes));
  assert.ok(progress.length >= found.probes.length - 2, 'progress per probe');
  console.log(`regression_find: ${found.probes.length} probes, ${JSON.stringify(found).length} bytes`);

  const again = structured(await client.callTool({ name: 'regression_find', arguments: { good: commits[0] } }));
  assert.equal(again.first_bad.commit, commits[8]);
  assert.ok(again.probes.every((p) => p.cached === p.runs), 'a repeated search is answered from the run log');

  const bad = await client.callTool({ name: 'regression_find', arguments: { good: 'no-such-branch' } });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /no-such-branch: no such revision/);
});

const FLAKY = `version: 1
suites:
  unit:
    format: tap
    run: [sh, -c, "echo 'ok 1 - fine'; [ $(( $(od -An -N1 -tu1 /dev/urandom) % 2 )) -eq 0 ] && echo 'not ok 2 - coin' || echo 'ok 2 - coin'; echo 'not ok 3 - broken'; echo '# want 2, got 3'; echo '1..3'"]
`;

test('flaky_check classes a coin flip flaky and a broken test failing', { timeout: 120000 }, async (t) => {
  const root = makeRepo(t);
  writeFileSync(join(root, 'factory.yaml'), FLAKY);
  commit(root, 'flaky suite');
  const client = await connectStdio(t, root);
  const res = structured(await client.callTool({ name: 'flaky_check', arguments: { runs: 20 } },
    CallToolResultSchema, { resetTimeoutOnProgress: true, timeout: 110000 }));
  assert.equal(res.runs, 20);
  const by = Object.fromEntries(res.tests.map((s) => [s.name.replace(/^.*\./, ''), s]));
  const coin = Object.values(by).find((s) => /coin/.test(s.name));
  const broken = Object.values(by).find((s) => /broken/.test(s.name));
  assert.ok(coin && broken, JSON.stringify(res));
  assert.equal(coin.class, 'flaky', JSON.stringify(coin)); // all 20 alike: 2^-19
  assert.ok(coin.interval[0] <= coin.fail_rate && coin.fail_rate <= coin.interval[1]);
  assert.equal(broken.class, 'failing');
  assert.equal(broken.messages.length, 1);
  assert.equal(broken.messages[0].count, 20);
  console.log(`flaky_check: ${JSON.stringify(res).length} bytes`);

  const bad = await client.callTool({ name: 'flaky_check', arguments: { runs: 1000 } });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /at most 100|give 1 to 100/);
});
