// Issue 13's perf_compare, invariant_drift and investigate prompt, from
// outside: the official SDK client over stdio compares a function made
// three times slower with its earlier self, names the layering rule a
// later commit broke with the offending import, and gets the walk-through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { makeRepo, connectStdio, structured } from './harness.js';

function commitFiles(root, msg, files) {
  for (const [p, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), body);
  }
  execFileSync('git', ['add', '-A'], { cwd: root });
  execFileSync('git', ['commit', '-qm', msg], { cwd: root });
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
}

const work = (times) => `package p

var sink uint64

func Work() uint64 {
	var h uint64 = 14695981039346656037
	for r := 0; r < ${times}; r++ {
		for i := 0; i < 20000; i++ {
			h ^= uint64(i)
			h *= 1099511628211
		}
	}
	sink = h
	return h
}
`;

const bench = `package p

import "testing"

func BenchmarkWork(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Work()
	}
}
`;

test('perf_compare calls a 3x slower function slower', { timeout: 300_000 }, async (t) => {
  const root = makeRepo(t);
  const fast = commitFiles(root, 'fast', { 'go.mod': 'module ex.com/m\n\ngo 1.22\n', 'p/p.go': work(1), 'p/p_test.go': bench });
  const slow = commitFiles(root, 'slow', { 'p/p.go': work(3) });
  const client = await connectStdio(t, root);
  const res = structured(await client.callTool({
    name: 'perf_compare',
    arguments: { base: fast, head: slow, pattern: 'Work', packages: ['./p'], budget_seconds: 240 },
  }, undefined, { timeout: 280_000 }));
  assert.equal(res.benchmarks.length, 1, res.table);
  assert.equal(res.benchmarks[0].verdict, 'slower', res.table);
  assert.ok(res.benchmarks[0].delta_pct > 100, res.table);
  assert.match(res.table, /Work/);
  console.log(`perf_compare: ${res.elapsed}, ${JSON.stringify(res).length} bytes\n${res.table}`);

  const bad = await client.callTool({ name: 'perf_compare', arguments: {} });
  assert.ok(bad.isError);
  assert.match(bad.content[0].text, /needs base/);
});

test('invariant_drift names the broken layering rule and the import', async (t) => {
  const root = makeRepo(t);
  const good = commitFiles(root, 'clean', {
    'go.mod': 'module ex.com/m\n\ngo 1.22\n',
    'factory.yaml': 'version: 1\ngates:\n  imports: {builtin: go-imports}\ninvariants:\n  - id: layering\n    deny_imports: {from: "./ui/...", to: ["./db/..."]}\n',
    'db/db.go': 'package db\n\nfunc Get() int { return 1 }\n',
    'ui/ui.go': 'package ui\n\nfunc Show() int { return 2 }\n',
  });
  const bad = commitFiles(root, 'ui reads the db', { 'ui/ui.go': 'package ui\n\nimport "ex.com/m/db"\n\nfunc Show() int { return db.Get() }\n' });
  const client = await connectStdio(t, root);
  const res = structured(await client.callTool({ name: 'invariant_drift', arguments: { from: good, to: bad } }));
  const layering = res.changed.find((d) => d.id === 'layering');
  assert.ok(layering, JSON.stringify(res));
  assert.equal(layering.change, 'pass_to_fail');
  assert.equal(layering.from_status, 'pass');
  assert.equal(layering.to_status, 'fail');
  assert.match(layering.evidence.join('\n'), /ex\.com\/m\/db/);
  console.log(`invariant_drift: ${JSON.stringify(res).length} bytes`);

  const wrong = await client.callTool({ name: 'invariant_drift', arguments: { last: 500 } });
  assert.ok(wrong.isError);
  assert.match(wrong.content[0].text, /2\.\.20/);
});

test('prompts/get investigate returns the walk-through', async (t) => {
  const root = makeRepo(t);
  const client = await connectStdio(t, root);
  const { prompts } = await client.listPrompts();
  assert.ok(prompts.find((p) => p.name === 'investigate'), prompts.map((p) => p.name).join(','));
  const got = await client.getPrompt({ name: 'investigate', arguments: { symptom: 'the checkout test fails since Tuesday' } });
  const text = got.messages[0].content.text;
  for (const step of ['run_start', '"workflow": "investigate"', 'test_run', 'flaky_check', 'regression_find', 'perf_compare', 'invariant_drift', 'trace_note']) {
    assert.ok(text.includes(step), `${step} missing from the walk-through`);
  }
  await assert.rejects(client.getPrompt({ name: 'investigate', arguments: {} }), /symptom/);
});
