// Shared helpers for the end-to-end tests: a fresh git repository, the built
// binary, and clients of the official MCP TypeScript SDK connected to it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const BIN = process.env.FACTORY_BIN || resolve(import.meta.dirname, '..', 'bin', 'factory');

// makeRepo creates a git repository with one commit in a temp dir.
export function makeRepo(t) {
  const dir = mkdtempSync(join(tmpdir(), 'factory-e2e-'));
  const git = (...args) => execFileSync('git', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'e2e@example.com');
  git('config', 'user.name', 'e2e');
  writeFileSync(join(dir, 'README.md'), '# demo\n');
  git('add', '-A');
  git('commit', '-qm', 'initial');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// factory runs the binary synchronously and returns {code, stdout, stderr}.
export function factory(args, opts = {}) {
  try {
    const stdout = execFileSync(BIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    return { code: e.status, stdout: e.stdout?.toString() ?? '', stderr: e.stderr?.toString() ?? '' };
  }
}

export function newClient() {
  return new Client({ name: 'factory-e2e', version: '1.0.0' });
}

// connectStdio starts `factory serve` over stdio in root.
export async function connectStdio(t, root) {
  const client = newClient();
  const transport = new StdioClientTransport({ command: BIN, args: ['serve', '--root', root], stderr: 'pipe' });
  await client.connect(transport);
  t.after(() => client.close());
  return client;
}

// startHTTP starts `factory serve --http 127.0.0.1:0` and resolves with its
// URL once it prints where it listens.
export function startHTTP(t, root, token) {
  const proc = spawn(BIN, ['serve', '--root', root, '--http', '127.0.0.1:0'], {
    env: { ...process.env, FACTORY_TOKEN: token },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => proc.kill('SIGTERM'));
  return new Promise((resolvePromise, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error('factory did not start: ' + err)), 15000);
    proc.stderr.on('data', (chunk) => {
      err += chunk;
      const m = err.match(/serving MCP at (http:\/\/\S+\/mcp)/);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ url: m[1], proc });
      }
    });
    proc.on('exit', (code) => reject(new Error(`factory exited ${code}: ${err}`)));
  });
}

export async function connectHTTP(t, url, token) {
  const client = newClient();
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  t.after(() => client.close());
  return client;
}

// structured returns a tool result's structured content, failing loudly on
// an error result.
export function structured(res) {
  if (res.isError) {
    throw new Error('tool error: ' + JSON.stringify(res.content));
  }
  return res.structuredContent;
}
