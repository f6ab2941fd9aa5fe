// node e2e/sizes.js: the context cost of factory's surface, measured with
// the official client on a copy of examples/gates: the bytes of tools/list
// and of each tool's typical result (the JSON a client hands the model).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const BIN = process.env.FACTORY_BIN || resolve(import.meta.dirname, '..', 'bin', 'factory');
const root = mkdtempSync(join(tmpdir(), 'factory-sizes-'));
cpSync(resolve(import.meta.dirname, '..', 'examples', 'gates'), root, { recursive: true });
const git = (...args) => execFileSync('git', ['-c', 'user.email=s@example.com', '-c', 'user.name=s', ...args], { cwd: root, encoding: 'utf8' });
git('init', '-q', '-b', 'main');
git('add', '-A');
git('commit', '-qm', 'example');

const client = new Client({ name: 'factory-sizes', version: '1.0.0' });
await client.connect(new StdioClientTransport({ command: BIN, args: ['serve', '--root', root], stderr: 'ignore' }));
const bytes = (v) => Buffer.byteLength(JSON.stringify(v));
const rows = [];
const call = async (name, args = {}) => {
  const res = await client.callTool({ name, arguments: args }, undefined, { timeout: 600000 });
  rows.push([name, JSON.stringify(args).slice(0, 40), bytes(res), res.isError ? 'error' : 'ok']);
  return res.structuredContent;
};
try {
  const { tools } = await client.listTools();
  console.log(`tools/list: ${bytes({ tools })} bytes, ${tools.length} tools`);
  await call('run_start', { name: 'sizes', workflow: 'forward' });
  await call('trace_note', { kind: 'plan', text: 'measure each result' });
  const start = (await call('snapshot_create', { label: 'start' })).snapshot;
  const core = join(root, 'core', 'core.go');
  writeFileSync(core, readFileSync(core, 'utf8') + '\n// an edit\n');
  await call('snapshot_list', {});
  await call('snapshot_diff', { from: start.id });
  await call('snapshot_restore', { id: start.id });
  await call('patch_apply', { patch: '--- a/core/core.go\n+++ b/core/core.go\n@@ -1,1 +1,2 @@\n+// a comment\n package core\n', dry_run: true });
  await call('test_run', {});
  await call('invariant_list', {});
  await call('invariant_check', {});
  await call('change_propose', { patch: '--- a/core/core.go\n+++ b/core/core.go\n@@ -1,1 +1,2 @@\n+// a comment\n package core\n' });
  await call('file_read', { path: 'core/core.go', at: 'HEAD', start_line: 1, end_line: 20 });
  await call('flaky_check', { package: './core', test: 'TestCounterCountsWordsCaseInsensitively', runs: 5 });
  await call('perf_compare', { base: 'HEAD', pattern: 'BenchmarkChecksum', packages: ['./core'], budget_seconds: 30 });
  await call('invariant_drift', { from: 'HEAD' });
  await call('trace_query', { run: 'current' });
  await call('doctor', {});
  // a commit that breaks a test, for the bisection's typical call
  writeFileSync(core, readFileSync(core, 'utf8').replace('strings.ToLower(word)', 'word'));
  git('commit', '-qam', 'count as written');
  await call('regression_find', { good: 'HEAD~1', bad: 'HEAD', package: './core', test: 'TestCounterCountsWordsCaseInsensitively' });
  for (const [name, args, n, status] of rows) {
    console.log(`${name.padEnd(18)} ${String(n).padStart(6)} bytes ~${String(Math.round(n / 4)).padStart(5)} tokens  ${status}  ${args}`);
  }
} finally {
  await client.close();
  rmSync(root, { recursive: true, force: true });
}
