import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

const add = (a, b) => a + b;

test('adds', () => {
  assert.equal(add(2, 2), 4);
});

test('adds wrongly', () => {
  console.log('about to compare');
  assert.equal(add(2, 2), 5);
});

test('skipped', { skip: 'not today' }, () => {});

test('todo', { todo: 'later' }, () => {
  throw new Error('not written yet');
});

describe('table', () => {
  test('zero', () => assert.equal(add(0, 0), 0));
  test('one', () => assert.equal(add(1, 0), 2));
});

test('parent', async (t) => {
  await t.test('child passes', () => {});
  await t.test('child fails', () => {
    throw new Error('child broke');
  });
});
