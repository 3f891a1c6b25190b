import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { IdleSweeper, type IdleEntry } from '../lib/idle.js';

interface Entry extends IdleEntry {
  readonly name: string;
}

/** A sweeper on mocked time; `expired` lists "name@time" in the order entries expired. */
function setup(t: TestContext, timeout = 100): { sweeper: IdleSweeper; expired: string[]; entry: (name: string, onExpire?: () => void) => Entry } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const sweeper = new IdleSweeper(timeout);
  const expired: string[] = [];
  const entry = (name: string, onExpire?: () => void): Entry => ({
    name,
    idlePrev: undefined,
    idleNext: undefined,
    idleTicks: 0,
    idleExpire() {
      expired.push(name);
      onExpire?.();
    },
  });
  return { sweeper, expired, entry };
}

/** Advances mocked time one sweep period at a time, so each sweep runs at its own time. */
function advance(t: TestContext, sweeper: IdleSweeper, ms: number): void {
  for (let at = 0; at < ms; at += sweeper.period) t.mock.timers.tick(sweeper.period);
}

test('the sweep period is a quarter of the timeout, at most one second', () => {
  assert.equal(new IdleSweeper(200).period, 50);
  assert.equal(new IdleSweeper(60_000).period, 1_000);
  assert.equal(new IdleSweeper(2).period, 1);
});

test('an idle entry expires after the timeout, and not before', (t) => {
  const { sweeper, expired, entry } = setup(t);
  sweeper.add(entry('a'));
  advance(t, sweeper, 100);
  assert.deepEqual(expired, []);
  advance(t, sweeper, 2 * sweeper.period);
  assert.deepEqual(expired, ['a']);
  assert.equal(sweeper.size, 0);
});

test('an entry marked active on every period never expires', (t) => {
  const { sweeper, expired, entry } = setup(t);
  const a = entry('a');
  sweeper.add(a);
  for (let i = 0; i < 40; i++) {
    advance(t, sweeper, sweeper.period);
    a.idleTicks = 0;
  }
  assert.deepEqual(expired, []);
});

test('an entry removed before the timeout never expires', (t) => {
  const { sweeper, expired, entry } = setup(t);
  const a = entry('a');
  sweeper.add(a);
  sweeper.remove(a);
  sweeper.remove(a);
  advance(t, sweeper, 1_000);
  assert.deepEqual(expired, []);
  assert.equal(sweeper.size, 0);
});

test('an expiry that removes the next entry does not break the sweep', (t) => {
  const { sweeper, expired, entry } = setup(t);
  const c = entry('c');
  const b = entry('b');
  const a = entry('a', () => sweeper.remove(b));
  sweeper.add(c);
  sweeper.add(b);
  sweeper.add(a);
  advance(t, sweeper, 300);
  assert.deepEqual(expired, ['a', 'c']);
});

test('adding an entry already queued only marks it active', (t) => {
  const { sweeper, expired, entry } = setup(t);
  const a = entry('a');
  sweeper.add(a);
  advance(t, sweeper, 75);
  sweeper.add(a);
  assert.equal(sweeper.size, 1);
  advance(t, sweeper, 75);
  assert.deepEqual(expired, []);
  sweeper.clear();
  assert.equal(sweeper.size, 0);
});
