// make demo: a scripted agent session against the built binary, through the
// official MCP TypeScript SDK client, on a copy of examples/gates. It shows
// each capability the way an agent meets it, then the run as `factory trace`
// prints it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const BIN = process.env.FACTORY_BIN || resolve(import.meta.dirname, '..', 'bin', 'factory');
const EXAMPLE = resolve(import.meta.dirname, '..', 'examples', 'gates');

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (title) => console.log('\n' + bold('== ' + title));
const show = (obj) => console.log(JSON.stringify(obj, null, 2).split('\n').slice(0, 40).join('\n'));

// Set up: the example module in a fresh git repository.
const root = mkdtempSync(join(tmpdir(), 'factory-demo-'));
cpSync(EXAMPLE, root, { recursive: true });
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
git('init', '-q', '-b', 'main');
git('-c', 'user.email=demo@example.com', '-c', 'user.name=demo', 'add', '-A');
git('-c', 'user.email=demo@example.com', '-c', 'user.name=demo', 'commit', '-qm', 'example');
console.log(`workspace: ${root} (a copy of examples/gates)`);

const client = new Client({ name: 'factory-demo', version: '1.0.0' });
await client.connect(new StdioClientTransport({ command: BIN, args: ['serve', '--root', root], stderr: 'ignore' }));

// call returns structured content, or for a tool error the message and the
// partial result that came with it. Long calls (gates, test runs) send
// progress; the client's timeout restarts with each, so a busy machine
// never turns a slow gate into a failed demo.
const patient = { timeout: 120000, resetTimeoutOnProgress: true, maxTotalTimeout: 900000, onprogress: () => {} };
async function call(name, args = {}) {
  const res = await client.callTool({ name, arguments: args }, undefined, patient);
  if (!res.isError) return res.structuredContent;
  const [msg, detail] = res.content.map((c) => c.text);
  return { error: msg, ...(detail ? JSON.parse(detail) : {}) };
}

// diffOf makes the unified diff from a file's current text to next.
function diffOf(path, next) {
  const before = join(root, path);
  const scratch = mkdtempSync(join(tmpdir(), 'factory-demo-diff-'));
  writeFileSync(join(scratch, 'next'), next);
  let out = '';
  try {
    execFileSync('git', ['diff', '--no-index', '--', before, join(scratch, 'next')], { encoding: 'utf8' });
  } catch (e) {
    out = e.stdout; // exit 1: the files differ
  }
  rmSync(scratch, { recursive: true, force: true });
  return out
    .replace(/^diff --git .*$/m, `diff --git a/${path} b/${path}`)
    .replace(/^--- .*$/m, `--- a/${path}`)
    .replace(/^\+\+\+ .*$/m, `+++ b/${path}`);
}
const read = (p) => readFileSync(join(root, p), 'utf8');

try {
  say('run_start: name the task');
  const { run } = await call('run_start', { name: 'demo: add Total to the counter', workflow: 'forward' });
  console.log(`run ${run.id}`);
  await call('trace_note', { kind: 'plan', text: 'snapshot, try an edit, diff and undo it; patch; test; propose through the gate' });

  say('snapshot_create, an edit made behind factory\'s back, snapshot_diff, snapshot_restore');
  const start = (await call('snapshot_create', { label: 'start' })).snapshot;
  console.log(`snapshot ${start.id} (tree ${start.tree.slice(0, 12)})`);
  writeFileSync(join(root, 'core', 'core.go'), read('core/core.go') + '\n// scratch edit from a shell command\n');
  writeFileSync(join(root, 'NOTES.txt'), 'a new untracked file\n');
  const diff = await call('snapshot_diff', { from: start.id });
  show(diff.files);
  console.log(diff.patch);
  const restored = await call('snapshot_restore', { id: start.id });
  console.log(`restored ${start.id}: wrote ${restored.written}, deleted ${restored.deleted}; undo with ${restored.undo}`);
  console.log(`git status after restore: ${JSON.stringify(git('status', '--porcelain'))} (index, HEAD and branches untouched)`);

  say('patch_apply: a hunk whose line numbers are stale applies at the nearest exact match, offset reported');
  const withTotal = read('core/core.go').replace(
    '// Checksum is',
    '// Total returns how many words were counted.\nfunc (c *Counter) Total() int {\n\tn := 0\n\tfor _, w := range c.Words() {\n\t\tn += c.Count(w)\n\t}\n\treturn n\n}\n\n// Checksum is',
  );
  const stale = diffOf('core/core.go', withTotal).replace(/^@@ -(\d+),(\d+) \+(\d+),(\d+) @@/m,
    (_, a, b, c, d) => `@@ -${+a + 6},${b} +${+c + 6},${d} @@`);
  const applied = await call('patch_apply', { patch: stale });
  show({ applied: applied.applied, files: applied.files, before: applied.before, after: applied.after });

  say('patch_apply: a hunk whose context is wrong is refused, nothing written, conflict shown hunk by hunk');
  const wrong = diffOf('core/core.go', read('core/core.go').replace('h *= 16777619', 'h *= 16777619 // FNV prime'))
    .replace('\t\th ^= uint32(b)', '\t\th ^= uint32(b) + 1');
  const refused = await call('patch_apply', { patch: wrong });
  console.log(refused.reason); // a conflict is an answer (applied: false), not a tool error
  show(refused.conflicts);

  say('test_run: a bug, the compact report, the fix, a passing run');
  const buggy = await call('patch_apply', { patch: diffOf('core/core.go', read('core/core.go').replace('c.store.Add(strings.ToLower(w), 1)', 'c.store.Add(w, 1)')) });
  const failing = await call('test_run', {});
  show({ status: failing.status, counts: failing.counts, failures: failing.failures, isolation: failing.isolation, log: failing.log });
  await call('snapshot_restore', { id: buggy.before });
  const passing = await call('test_run', {});
  show({ status: passing.status, counts: passing.counts, isolation: passing.isolation });

  say('change_propose: a change that breaks the layering is rejected, the live tree untouched');
  const layering = diffOf('ui/ui.go', read('ui/ui.go')
    .replace('"example.com/gates/core"', '"example.com/gates/core"\n\t"example.com/gates/internal/db"')
    .replace('// Render lists', '// Scratch is a shortcut around core.\nvar Scratch = db.New()\n\n// Render lists'));
  const rejected = await call('change_propose', { patch: layering });
  console.log(rejected.reason); // a rejection is an answer (accepted: false), not a tool error
  show(rejected.verdicts.filter((v) => v.status !== 'pass'));

  say('change_propose: the fix, through core, passes every gate and lands');
  await call('trace_note', { kind: 'decision', text: 'ui must go through core; render the total from Counter.Total' });
  const good = diffOf('ui/ui.go', read('ui/ui.go').replace('\treturn b.String()', '\tfmt.Fprintf(&b, "total: %d\\n", c.Total())\n\treturn b.String()'))
    + diffOf('ui/ui_test.go', read('ui/ui_test.go').replace('"a: 1\\nb: 2\\n"', '"a: 1\\nb: 2\\ntotal: 3\\n"'));
  const accepted = await call('change_propose', { patch: good });
  show({ accepted: accepted.accepted, reason: accepted.reason, verdicts: accepted.verdicts.map((v) => `${v.id}: ${v.status}`), written: accepted.written, live: accepted.live });

  say('investigate: the investigate prompt, then flaky_check tells flaky from broken');
  const walk = await client.getPrompt({ name: 'investigate', arguments: { symptom: 'TestRender failed once in CI' } });
  console.log(walk.messages[0].content.text.split('\n').slice(0, 6).join('\n'));
  const flaky = await call('flaky_check', { test: 'TestRender', runs: 5 });
  show({ runs: flaky.runs, tests: flaky.tests.map((t) => `${t.name}: ${t.class} (${t.failures}/${t.passes + t.failures} failed)`) });

  await client.close();
  say(`factory trace ${run.id}`);
  console.log(execFileSync(BIN, ['trace', '--root', root, run.id], { encoding: 'utf8' }));
} finally {
  await client.close().catch(() => {});
  if (!process.env.FACTORY_DEMO_KEEP) rmSync(root, { recursive: true, force: true });
}
