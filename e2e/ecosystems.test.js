// Issue 14 from outside: the TypeScript, Python and Rust fixtures, each
// copied into a fresh repository with its gitignored dependencies, driven
// through the official SDK client against the built binary: init detects
// the suite, test_run passes in the sandbox and narrows by name, a failing
// test is named with file:line, and change_propose holds the layering of
// the essays' stack (app/ may not import db/) on the working tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectStdio, factory, structured } from './harness.js';

const examples = resolve(import.meta.dirname, '..', 'examples');
const patient = { timeout: 120000, resetTimeoutOnProgress: true, maxTotalTimeout: 900000, onprogress: () => {} };

// fixtureRepo copies examples/<name> (its ignored node_modules included,
// as an agent's checkout has them) into a new repository with one commit.
function fixtureRepo(t, name) {
  const src = join(examples, name);
  const root = mkdtempSync(join(tmpdir(), `factory-e2e-${name}-`));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  execFileSync('cp', ['-a', `${src}/.`, root]);
  const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'e2e@example.com');
  git('config', 'user.name', 'e2e');
  git('add', '-A');
  git('commit', '-qm', 'fixture');
  return { root, git };
}

function edit(root, path, from, to) {
  const p = join(root, path);
  const text = readFileSync(p, 'utf8');
  assert.ok(text.includes(from), `${path} holds ${from}`);
  writeFileSync(p, text.replace(from, to));
}

async function call(client, name, args) {
  return structured(await client.callTool({ name, arguments: args }, undefined, patient));
}

// runsAndNarrows: the whole suite passes in the sandbox, with the
// dependencies from the ignored directories; a name runs that test alone.
async function runsAndNarrows(client, name) {
  const all = await call(client, 'test_run', {});
  assert.equal(all.status, 'pass', JSON.stringify(all));
  assert.ok(all.counts.total >= 2, JSON.stringify(all.counts));
  assert.notEqual(all.isolation, 'none');
  const one = await call(client, 'test_run', { test: name });
  assert.equal(one.status, 'pass', JSON.stringify(one));
  assert.deepEqual(one.counts, { total: 1, passed: 1, failed: 0, skipped: 0 }, `only ${name} ran`);
}

// layering: app/ importing db/ is rejected with the import named and the
// working tree left as the agent wrote it; the same feature through the
// domain layer lands.
async function layering(client, root, git, bad, good, evidence) {
  bad();
  const before = readFileSync(join(root, bad.path));
  const rejected = await client.callTool({ name: 'change_propose', arguments: {} }, undefined, patient);
  assert.ok(!rejected.isError, JSON.stringify(rejected.content));
  const r = rejected.structuredContent;
  assert.equal(r.accepted, false, r.reason);
  const v = r.verdicts.find((x) => x.id === 'ui-not-db');
  assert.equal(v.status, 'fail', JSON.stringify(r.verdicts));
  assert.ok(v.evidence.some((e) => e.includes(evidence)), JSON.stringify(v.evidence));
  assert.deepEqual(readFileSync(join(root, bad.path)), before, 'a rejection leaves the working tree as it is');

  git('checkout', '-q', '--', '.');
  good();
  const landed = await call(client, 'change_propose', { commit: true, message: 'cancel an order' });
  assert.equal(landed.accepted, true, `${landed.reason} ${JSON.stringify(landed.verdicts)}`);
  assert.equal(landed.verdicts.find((x) => x.id === 'tests-pass').status, 'pass');
  assert.equal(git('rev-parse', 'HEAD'), landed.commit);
  assert.equal(git('status', '--porcelain'), '', 'the commit is the gated tree');
}

test('TypeScript (vitest, js-imports): test_run in the sandbox, narrowing, and the UI may not write the database', async (t) => {
  if (!existsSync(join(examples, 'ts-stack', 'node_modules', '.bin', 'vitest'))) {
    assert.fail('examples/ts-stack/node_modules is missing: run make deps');
  }
  const { root, git } = fixtureRepo(t, 'ts-stack');
  const client = await connectStdio(t, root);
  await runsAndNarrows(client, 'places an order');

  const bad = () => {
    edit(root, 'app/orders-page.ts', 'import { openOrders, placeOrder } from "@domain/orders";',
      'import { openOrders, placeOrder } from "@domain/orders";\nimport { updateOrder } from "../db/client";');
    edit(root, 'app/orders-page.ts', 'export function renderOrders',
      'export function cancel(id: number): void {\n  updateOrder(id, { status: "cancelled" });\n}\n\nexport function renderOrders');
  };
  bad.path = 'app/orders-page.ts';
  const good = () => {
    edit(root, 'domain/orders.ts', 'import { insertOrder, listOrders, type Order } from "../db/client";',
      'import { insertOrder, listOrders, updateOrder, type Order } from "../db/client";');
    edit(root, 'domain/orders.ts', 'export function openOrders',
      'export function cancelOrder(id: number): Order {\n  const order = updateOrder(id, { status: "cancelled" });\n  if (!order) throw new Error(`no order ${id}`);\n  return order;\n}\n\nexport function openOrders');
    edit(root, 'app/orders-page.ts', 'import { openOrders, placeOrder }', 'import { cancelOrder, openOrders, placeOrder }');
    edit(root, 'app/orders-page.ts', 'export function submitOrder',
      'export function cancel(id: number): string {\n  cancelOrder(id);\n  return renderOrders();\n}\n\nexport function submitOrder');
  };
  await layering(client, root, git, bad, good, 'app/orders-page.ts:3: app/orders-page.ts imports db/client.ts');
});

test('Python (pytest, py-imports): test_run in the sandbox, narrowing, and the UI may not write the database', async (t) => {
  const { root, git } = fixtureRepo(t, 'py-stack');
  const client = await connectStdio(t, root);
  await runsAndNarrows(client, 'test_places_an_order');

  const bad = () => edit(root, 'app/views.py', 'from domain.orders import open_orders, place_order\n',
    'from db import store\nfrom domain.orders import open_orders, place_order\n\n\ndef cancel(order_id: int) -> str:\n    store.update_order(order_id, status="cancelled")\n    return render_orders()\n');
  bad.path = 'app/views.py';
  const good = () => {
    edit(root, 'domain/orders.py', 'def open_orders',
      'def cancel_order(order_id: int) -> "Order":\n    order = store.update_order(order_id, status="cancelled")\n    if order is None:\n        raise ValueError(f"no order {order_id}")\n    return order\n\n\ndef open_orders');
    edit(root, 'app/views.py', 'from domain.orders import open_orders, place_order\n',
      'from domain.orders import cancel_order, open_orders, place_order\n\n\ndef cancel(order_id: int) -> str:\n    cancel_order(order_id)\n    return render_orders()\n');
  };
  await layering(client, root, git, bad, good, 'app/views.py:3: app/views.py imports db/store.py');
});

test('Rust (cargo, offline): init detects the suite, test_run passes and narrows, a failure is named with file:line', async (t) => {
  try {
    execFileSync('cargo', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('cargo is not installed on this machine');
    return;
  }
  const { root, git } = fixtureRepo(t, 'rust-cargo');
  const init = factory(['init'], { cwd: root });
  assert.equal(init.code, 0, init.stderr);
  assert.match(readFileSync(join(root, 'factory.yaml'), 'utf8'), /cargo, test/);
  git('add', 'factory.yaml');
  git('commit', '-qm', 'factory init');
  const client = await connectStdio(t, root);
  await runsAndNarrows(client, 'largest_finds_max');

  edit(root, 'src/lib.rs', 'entries.iter().sum()', 'entries.iter().sum::<i64>() + 1');
  const failed = await call(client, 'test_run', {});
  assert.equal(failed.status, 'fail', JSON.stringify(failed));
  const f = failed.failures.find((x) => x.name.endsWith('balance_sums'));
  assert.ok(f, JSON.stringify(failed.failures));
  assert.equal(f.file, 'src/lib.rs');
  assert.equal(f.line, 17);
  assert.match(f.message, /left: 14, right: 13/);
});


