// Issue 12's MCP surface, from outside: the official SDK client over stdio
// reads the instructions, lists and gets the forward_plan prompt, completes
// its arguments and a resource template's, sets the log level and receives
// notifications/message, receives progress during a test run and a gate,
// runs test_run as a task, and is told bad arguments in words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { LoggingMessageNotificationSchema, CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { makeRepo, connectStdio, structured } from './harness.js';

// A suite of three TAP tests and a gate over it, committed so that the
// trusted rules (factory.yaml at HEAD) have them.
const CONFIG = `version: 1
suites:
  unit: {run: [sh, -c, "echo 'ok 1 - alpha'; echo 'ok 2 - beta'; echo 'ok 3 - gamma'; echo '1..3'"], format: tap}
gates:
  tests: {suite: unit}
invariants:
  - {id: tests-pass, expr: "tests.failed == 0"}
`;

function gatedRepo(t) {
  const root = makeRepo(t);
  writeFileSync(join(root, 'factory.yaml'), CONFIG);
  execFileSync('git', ['add', '-A'], { cwd: root });
  execFileSync('git', ['commit', '-qm', 'rules'], { cwd: root });
  return root;
}

test('instructions, prompts and completions', async (t) => {
  const root = gatedRepo(t);
  const client = await connectStdio(t, root);

  const instructions = client.getInstructions();
  assert.match(instructions, /change_propose is the gate/);
  assert.match(instructions, /ungated/);
  const caps = client.getServerCapabilities();
  for (const c of ['prompts', 'completions', 'logging', 'tasks']) {
    assert.ok(caps[c], `capability ${c} missing: ${JSON.stringify(caps)}`);
  }

  const { prompts } = await client.listPrompts();
  const plan = prompts.find((p) => p.name === 'forward_plan');
  assert.ok(plan, `forward_plan missing from ${prompts.map((p) => p.name)}`);
  assert.deepEqual(plan.arguments.map((a) => [a.name, !!a.required]), [['goal', true], ['suite', false]]);

  const got = await client.getPrompt({ name: 'forward_plan', arguments: { goal: 'add a Total method', suite: 'unit' } });
  const text = got.messages.map((m) => m.content.text).join('\n');
  assert.match(text, /Goal: add a Total method/);
  const order = ['run_start', 'snapshot_create', '"plan"', 'test_run {"suite": "unit"}', 'change_propose', '"decision"'];
  let at = -1;
  for (const step of order) {
    const i = text.indexOf(step);
    assert.ok(i > at, `${step} comes after the step before it in:\n${text}`);
    at = i;
  }
  assert.match(text, /not gated/);
  await assert.rejects(client.getPrompt({ name: 'forward_plan', arguments: {} }), /goal/);

  const complete = async (ref, name, value) =>
    (await client.complete({ ref, argument: { name, value } })).completion.values;
  const prompt = { type: 'ref/prompt', name: 'forward_plan' };
  assert.deepEqual(await complete(prompt, 'suite', ''), ['unit']);
  assert.deepEqual(await complete(prompt, 'suite', 'x'), []);

  structured(await client.callTool({ name: 'run_start', arguments: { name: 'teach the counter to total' } }));
  assert.deepEqual(await complete(prompt, 'goal', 'teach'), ['teach the counter to total']);

  const report = structured(await client.callTool({ name: 'test_run', arguments: {} }));
  assert.equal(report.status, 'pass');
  const logs = await complete({ type: 'ref/resource', uri: 'factory://tests/{id}/log' }, 'id', 't-');
  assert.ok(logs.includes(report.id), `${report.id} in ${logs}`);
  const blobs = await complete({ type: 'ref/resource', uri: 'factory://blobs/{id}' }, 'id', '');
  assert.ok(blobs.includes(report.id), `${report.id} in ${blobs}`);
});

test('logging: setLevel, then notifications/message at or above it', async (t) => {
  const root = gatedRepo(t);
  const client = await connectStdio(t, root);
  const messages = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => messages.push(n.params));

  // The default level is error: an ordinary call says nothing.
  structured(await client.callTool({ name: 'trace_note', arguments: { text: 'quiet call' } }));
  await client.setLoggingLevel('info');
  structured(await client.callTool({ name: 'trace_note', arguments: { text: 'a loud call' } }));
  const bad = await client.callTool({ name: 'trace_note', arguments: { text: 'x', kind: 'gossip' } });
  assert.equal(bad.isError, true);
  await client.setLoggingLevel('warning');
  structured(await client.callTool({ name: 'trace_note', arguments: { text: 'quiet again' } }));

  const seen = messages.map((m) => `${m.level} ${m.data}`);
  assert.equal(seen.filter((m) => /^info trace_note done/.test(m)).length, 1, seen.join('\n'));
  assert.equal(seen.filter((m) => /^warning trace_note answered an error.*gossip/.test(m)).length, 1, seen.join('\n'));
  assert.ok(!seen.some((m) => /debug/.test(m)), 'nothing below the level');
  await assert.rejects(client.setLoggingLevel('chatty'));
});

test('progress during a test run and a gate', async (t) => {
  const root = gatedRepo(t);
  const client = await connectStdio(t, root);

  const runProgress = [];
  const report = structured(await client.callTool({ name: 'test_run', arguments: {} }, CallToolResultSchema,
    { onprogress: (p) => runProgress.push(p), resetTimeoutOnProgress: true }));
  assert.equal(report.counts.total, 3);
  const last = runProgress.at(-1);
  assert.ok(last, 'at least one progress notification');
  assert.equal(last.progress, last.total, 'the last notification says the run is complete');
  assert.match(last.message, /pass: 3 passed/);

  const gateProgress = [];
  const check = structured(await client.callTool({ name: 'invariant_check', arguments: {} }, CallToolResultSchema,
    { onprogress: (p) => gateProgress.push(p), resetTimeoutOnProgress: true }));
  assert.equal(check.passed, true);
  const phases = gateProgress.map((p) => p.message);
  assert.ok(phases.some((m) => /gate tests/.test(m)), `phases: ${phases}`);
  for (let i = 1; i < gateProgress.length; i++) {
    assert.ok(gateProgress[i].progress > gateProgress[i - 1].progress, 'progress only grows');
  }
});

test('test_run as a task; errors in words; a conflict said once', async (t) => {
  const root = gatedRepo(t);
  const client = await connectStdio(t, root);
  const { tools } = await client.listTools();
  for (const name of ['test_run', 'change_propose']) {
    assert.equal(tools.find((x) => x.name === name).execution?.taskSupport, 'optional', name);
  }

  const kinds = [];
  let result;
  for await (const msg of client.experimental.tasks.callToolStream({ name: 'test_run', arguments: {} }, CallToolResultSchema, { task: { ttl: 60000 } })) {
    kinds.push(msg.type);
    if (msg.type === 'result') result = msg.result;
    if (msg.type === 'error') throw msg.error;
  }
  assert.equal(kinds[0], 'taskCreated');
  assert.equal(kinds.at(-1), 'result');
  assert.equal(structured(result).status, 'pass');

  const typed = await client.callTool({ name: 'test_run', arguments: { reruns: 'two' } });
  assert.equal(typed.isError, true);
  assert.match(typed.content[0].text, /reruns must be an integer, got a string/);
  const extra = await client.callTool({ name: 'snapshot_list', arguments: { lable: 'x' } });
  assert.match(extra.content[0].text, /unknown argument "lable"; the arguments are: label, run, limit/);
  const short = await client.callTool({ name: 'trace_query', arguments: { text: 'a' } });
  assert.equal(short.isError, true);
  assert.match(short.content[0].text, /at least 3 characters/);

  const before = readFileSync(join(root, 'README.md'), 'utf8');
  const conflict = await client.callTool({ name: 'change_propose', arguments: {
    patch: '--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# not this line\n+# new\n' } });
  const said = conflict.content[0].text;
  assert.match(said, /does not apply/);
  assert.equal(said.match(/does not apply/g).length, 1, said);
  assert.equal(readFileSync(join(root, 'README.md'), 'utf8'), before);
});
