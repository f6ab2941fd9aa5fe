// make demo must keep working: run it as a new user would and check that
// each act of the story happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { BIN } from './harness.js';

test('make demo runs end to end', { timeout: 240000 }, () => {
  const out = execFileSync('node', [join(import.meta.dirname, 'demo.js')], {
    encoding: 'utf8', env: { ...process.env, FACTORY_BIN: BIN }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.match(out, /restored s-[0-9a-f]+: wrote core\/core.go, deleted NOTES.txt/);
  assert.match(out, /"offset": -6/, 'the stale patch applied at an offset');
  assert.match(out, /patch does not apply, nothing was written/);
  assert.match(out, /"name": "TestCounterCountsWordsCaseInsensitively"/);
  assert.match(out, /"status": "pass"/);
  assert.match(out, /layering failed/);
  assert.match(out, /"accepted": true/);
  assert.match(out, /factory trace r-/);
  assert.match(out, /change_propose/);
});
