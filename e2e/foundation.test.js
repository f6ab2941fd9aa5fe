// Issue 2's bar, checked from outside: the official SDK client lists tools
// and calls trace_note then trace_query, over stdio and over HTTP; the HTTP
// safety checks refuse foreign origins, missing tokens and oversized bodies
// without recording a step; a later `factory call` and `factory trace` see
// what a serve session recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRepo, connectStdio, startHTTP, connectHTTP, structured, factory } from './harness.js';

const TOKEN = 'e2e-secret-token-0123456789';

test('stdio: list tools, note, query finds the note', async (t) => {
  const root = makeRepo(t);
  const client = await connectStdio(t, root);
  const { tools } = await client.listTools();
  const names = tools.map((x) => x.name);
  for (const want of ['run_start', 'trace_note', 'trace_query', 'doctor']) {
    assert.ok(names.includes(want), `${want} missing from ${names}`);
  }
  for (const tool of tools) {
    const a = tool.annotations ?? {};
    for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint']) {
      assert.equal(typeof a[hint], 'boolean', `${tool.name} lacks ${hint}`);
    }
    assert.ok(tool.outputSchema, `${tool.name} lacks an output schema`);
  }

  structured(await client.callTool({ name: 'run_start', arguments: { name: 'e2e stdio', workflow: 'forward' } }));
  const note = structured(await client.callTool({ name: 'trace_note', arguments: { text: 'plan: the zebra crossing', kind: 'plan' } }));
  assert.equal(note.message.kind, 'plan');

  const found = structured(await client.callTool({ name: 'trace_query', arguments: { kind: 'messages', text: 'zebra' } }));
  assert.equal(found.messages.length, 1);
  assert.equal(found.messages[0].text, 'plan: the zebra crossing');
  assert.equal(found.messages[0].run_id, note.message.run_id);

  const steps = structured(await client.callTool({ name: 'trace_query', arguments: { run: 'current' } }));
  const tools_ = steps.steps.map((s) => s.tool);
  assert.ok(tools_.includes('trace_note'), `steps: ${tools_}`);

  const bad = await client.callTool({ name: 'trace_note', arguments: { text: 'x', kind: 'gossip' } });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /plan, decision or observation/);
  await client.close();

  // The serve session's steps are there for the command line afterwards.
  const q = factory(['call', '--root', root, 'trace_query', '{"tool":"trace_note"}']);
  assert.equal(q.code, 0, q.stderr);
  const page = JSON.parse(q.stdout);
  assert.ok(page.steps.length >= 2, q.stdout);
  const runID = note.message.run_id;
  const tr = factory(['trace', '--root', root, runID]);
  assert.equal(tr.code, 0, tr.stderr);
  assert.match(tr.stdout, /e2e stdio/);
  assert.match(tr.stdout, /trace_note/);
  assert.match(tr.stdout, /tool_error/);
  assert.match(tr.stdout, /zebra/);
});

test('http: list tools, note, query; refused requests record nothing', async (t) => {
  const root = makeRepo(t);
  const { url } = await startHTTP(t, root, TOKEN);
  const client = await connectHTTP(t, url, TOKEN);
  const { tools } = await client.listTools();
  assert.ok(tools.some((x) => x.name === 'trace_query'));
  structured(await client.callTool({ name: 'trace_note', arguments: { text: 'observation over http: walrus', kind: 'observation' } }));
  const found = structured(await client.callTool({ name: 'trace_query', arguments: { kind: 'messages', text: 'walrus' } }));
  assert.equal(found.messages.length, 1);

  const countSteps = async () => {
    const all = structured(await client.callTool({ name: 'trace_query', arguments: { limit: 100 } }));
    return (all.steps ?? []).length;
  };
  const before = await countSteps();

  const call = {
    jsonrpc: '2.0', id: 99, method: 'tools/call',
    params: { name: 'trace_note', arguments: { text: 'should never be stored' } },
  };
  const post = (headers, body = JSON.stringify(call)) => fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body,
  });
  const auth = { Authorization: `Bearer ${TOKEN}` };

  let r = await post({ ...auth, Origin: 'https://evil.example' });
  assert.equal(r.status, 403);
  r = await post({});
  assert.equal(r.status, 401);
  r = await post({ Authorization: 'Bearer wrong' });
  assert.equal(r.status, 401);
  r = await post(auth, JSON.stringify({ ...call, pad: 'x'.repeat(5 << 20) }));
  assert.equal(r.status, 413);
  r = await post({ ...auth, Origin: 'http://localhost:3000' }, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
  assert.notEqual(r.status, 403, 'a loopback origin is allowed');

  // countSteps itself adds one step per call: one more than before, no more.
  assert.equal(await countSteps(), before + 1);
  const stored = structured(await client.callTool({ name: 'trace_query', arguments: { kind: 'messages', text: 'never' } }));
  assert.equal((stored.messages ?? []).length, 0);
});
