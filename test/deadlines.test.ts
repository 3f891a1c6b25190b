import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { DeadlineQueue, monotonicClock, type DeadlineEntry } from '../lib/deadlines.js';
import { liveTimers } from './timer-helpers.js';

interface Entry extends DeadlineEntry {
  readonly name: string;
}

/** A queue on mocked time; `expired` lists "name@time" in the order entries expired. */
function setup(t: TestContext, timeout = 100): { queue: DeadlineQueue; expired: string[]; entry: (name: string, onExpire?: () => void) => Entry } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const queue = new DeadlineQueue(timeout, () => Date.now());
  const expired: string[] = [];
  const entry = (name: string, onExpire?: () => void): Entry => ({
    name,
    deadlinePrev: undefined,
    deadlineNext: undefined,
    deadlineAt: 0,
    expire() {
      expired.push(`${name}@${Date.now()}`);
      onExpire?.();
    },
  });
  return { queue, expired, entry };
}

/**
 * Advances mocked time 1 ms at a time: Node 20's tick(ms) moves Date to the end of the whole step
 * before it runs the timers due inside it, so one big tick would show every expiry at the end time.
 */
function advance(t: TestContext, ms: number): void {
  for (let i = 0; i < ms; i++) t.mock.timers.tick(1);
}

test('an entry expires when its timeout has passed, not before', (t) => {
  const { queue, expired, entry } = setup(t);
  queue.add(entry('a'));
  t.mock.timers.tick(99);
  assert.deepEqual(expired, []);
  t.mock.timers.tick(1);
  assert.deepEqual(expired, ['a@100']);
  assert.equal(queue.size, 0);
});

test('add() sets the deadline from the clock', (t) => {
  const { queue, entry } = setup(t);
  t.mock.timers.tick(40);
  const a = entry('a');
  queue.add(a);
  assert.equal(a.deadlineAt, 140);
});

test('entries expire in the order they were added, each at its own deadline', (t) => {
  const { queue, expired, entry } = setup(t);
  queue.add(entry('a'));
  t.mock.timers.tick(10);
  queue.add(entry('b'));
  t.mock.timers.tick(20);
  queue.add(entry('c'));
  advance(t, 200);
  assert.deepEqual(expired, ['a@100', 'b@110', 'c@130']);
});

test('entries added at the same time expire together', (t) => {
  const { queue, expired, entry } = setup(t);
  queue.add(entry('a'));
  queue.add(entry('b'));
  t.mock.timers.tick(100);
  assert.deepEqual(expired, ['a@100', 'b@100']);
});

test('remove() before the deadline prevents expiry', (t) => {
  const { queue, expired, entry } = setup(t);
  const a = entry('a');
  queue.add(a);
  t.mock.timers.tick(50);
  queue.remove(a);
  t.mock.timers.tick(500);
  assert.deepEqual(expired, []);
  assert.equal(queue.size, 0);
});

test('remove() of the head re-arms for the next entry', (t) => {
  const { queue, expired, entry } = setup(t);
  const a = entry('a');
  queue.add(a);
  t.mock.timers.tick(30);
  queue.add(entry('b'));
  queue.remove(a);
  t.mock.timers.tick(99);
  assert.deepEqual(expired, [], 'the early wake-up for a expires nothing');
  t.mock.timers.tick(1);
  assert.deepEqual(expired, ['b@130']);
});

test('remove() of a middle entry and of the tail keeps the rest in order', (t) => {
  const { queue, expired, entry } = setup(t);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => entry(name));
  for (const e of [a, b, c, d]) {
    queue.add(e!);
    t.mock.timers.tick(10);
  }
  queue.remove(b!);
  queue.remove(d!);
  assert.equal(queue.size, 2);
  advance(t, 200);
  assert.deepEqual(expired, ['a@100', 'c@120']);
});

test('remove() of an entry that is not queued does nothing', (t) => {
  const { queue, expired, entry } = setup(t);
  const a = entry('a');
  queue.add(a);
  queue.remove(entry('stranger'));
  assert.equal(queue.size, 1);
  queue.remove(a);
  queue.remove(a);
  assert.equal(queue.size, 0);
  t.mock.timers.tick(200);
  assert.deepEqual(expired, []);
});

test('an entry can be added again after it was removed', (t) => {
  const { queue, expired, entry } = setup(t);
  const a = entry('a');
  queue.add(a);
  queue.remove(a);
  t.mock.timers.tick(50);
  queue.add(a);
  t.mock.timers.tick(100);
  assert.deepEqual(expired, ['a@150']);
});

test('size counts queued entries', (t) => {
  const { queue, entry } = setup(t);
  assert.equal(queue.size, 0);
  queue.add(entry('a'));
  queue.add(entry('b'));
  assert.equal(queue.size, 2);
  t.mock.timers.tick(100);
  assert.equal(queue.size, 0);
});

test('clear() removes every entry without expiring any', (t) => {
  const { queue, expired, entry } = setup(t);
  queue.add(entry('a'));
  queue.add(entry('b'));
  queue.clear();
  assert.equal(queue.size, 0);
  t.mock.timers.tick(500);
  assert.deepEqual(expired, []);
});

test('one timer serves many entries', (t) => {
  const { queue, entry } = setup(t);
  const { live } = liveTimers(t);
  for (let i = 0; i < 100; i++) queue.add(entry(String(i)));
  assert.equal(live.size, 1);
});

test('an emptied queue keeps its one timer until it fires, then holds none', (t) => {
  const { queue, expired, entry } = setup(t);
  const { live, delays } = liveTimers(t);
  const a = entry('a');
  const b = entry('b');
  queue.add(a);
  queue.add(b);
  queue.remove(a);
  queue.remove(b);
  assert.equal(live.size, 1);
  assert.equal(queue.armed, true);
  queue.add(entry('c')); // reuses the armed timer: no new one
  assert.equal(delays.length, 1);
  t.mock.timers.tick(100);
  assert.deepEqual(expired, ['c@100']);
  assert.equal(live.size, 0);
  assert.equal(queue.armed, false);
});

test('clear() leaves no timer', (t) => {
  const { queue, entry } = setup(t);
  const { live } = liveTimers(t);
  queue.add(entry('a'));
  queue.clear();
  assert.equal(live.size, 0);
});

test('no timer remains after the last entry expires', (t) => {
  const { queue, entry } = setup(t);
  const { live } = liveTimers(t);
  queue.add(entry('a'));
  t.mock.timers.tick(30);
  queue.add(entry('b'));
  advance(t, 70);
  assert.equal(live.size, 1, 'a expired; re-armed for b');
  advance(t, 30);
  assert.equal(live.size, 0);
});

test('a fractional timeout arms a whole-millisecond timer of at least 1 ms', (t) => {
  const { queue, entry } = setup(t, 0.25);
  const { delays } = liveTimers(t);
  queue.add(entry('a'));
  assert.deepEqual(delays, [1]);
});

test('a timeout beyond the 32-bit timer limit is not cut to 1 ms', (t) => {
  const { queue, expired, entry } = setup(t, 2 ** 31 + 1000);
  const { delays } = liveTimers(t);
  queue.add(entry('a'));
  assert.ok(delays.every((delay) => delay >= 1 && delay <= 2 ** 31 - 1), `delays ${delays.join(', ')}`);
  t.mock.timers.tick(2 ** 31 - 1);
  assert.deepEqual(expired, [], 'the first wake-up is early and re-arms');
  assert.deepEqual(delays, [2 ** 31 - 1, 1001]);
  t.mock.timers.tick(1001);
  assert.deepEqual(expired, [`a@${2 ** 31 + 1000}`]);
});

test('an entry added from inside expire() does not delay a queued entry due sooner', (t) => {
  const { queue, expired, entry } = setup(t);
  queue.add(entry('a', () => queue.add(entry('c'))));
  t.mock.timers.tick(50);
  queue.add(entry('b'));
  t.mock.timers.tick(50);
  assert.deepEqual(expired, ['a@100']);
  t.mock.timers.tick(50);
  assert.deepEqual(expired, ['a@100', 'b@150'], 'b is due at 150, c at 200');
  t.mock.timers.tick(50);
  assert.deepEqual(expired, ['a@100', 'b@150', 'c@200']);
});

test('an entry added from inside the last expire() gets a timer', (t) => {
  const { queue, expired, entry } = setup(t);
  queue.add(entry('a', () => queue.add(entry('b'))));
  t.mock.timers.tick(100);
  t.mock.timers.tick(100);
  assert.deepEqual(expired, ['a@100', 'b@200']);
});

test('an entry removed from inside another expire() does not expire', (t) => {
  const { queue, expired, entry } = setup(t);
  const b = entry('b');
  queue.add(entry('a', () => queue.remove(b)));
  queue.add(b);
  t.mock.timers.tick(100);
  assert.deepEqual(expired, ['a@100']);
  assert.equal(queue.size, 0);
});

test('an expire() that throws does not stop the queue from timing the entries left', (t) => {
  const { queue, expired, entry } = setup(t);
  queue.add(
    entry('a', () => {
      throw new Error('listener bug');
    }),
  );
  t.mock.timers.tick(50);
  queue.add(entry('b'));
  assert.throws(() => t.mock.timers.tick(50), /listener bug/);
  t.mock.timers.tick(50);
  assert.deepEqual(expired, ['a@100', 'b@150']);
});

test('the default clock is monotonic performance.now()', () => {
  const before = performance.now();
  const now = monotonicClock();
  assert.ok(now >= before && now <= performance.now());
  assert.equal(new DeadlineQueue(5).timeout, 5);
});

test('the real timer is unref()d so a pending deadline does not keep the process alive', (t) => {
  const unref = t.mock.fn();
  t.mock.method(globalThis, 'setTimeout', (() => ({ unref })) as unknown as typeof setTimeout);
  t.mock.method(globalThis, 'clearTimeout', (() => {}) as typeof clearTimeout);
  const queue = new DeadlineQueue(100);
  const a = { deadlinePrev: undefined, deadlineNext: undefined, deadlineAt: 0, expire() {} };
  queue.add(a);
  assert.equal(unref.mock.callCount(), 1);
  queue.remove(a);
});

test('the default clock is read once per event-loop turn, like the loop time of Node timers', async () => {
  const queue = new DeadlineQueue(60_000);
  const entry = (): DeadlineEntry => ({ deadlinePrev: undefined, deadlineNext: undefined, deadlineAt: 0, expire() {} });
  const [a, b, c] = [entry(), entry(), entry()];
  queue.add(a);
  const spinUntil = performance.now() + 20;
  while (performance.now() < spinUntil) {
    // a long synchronous stretch within one turn
  }
  queue.add(b);
  assert.equal(b.deadlineAt, a.deadlineAt, 'same turn, same reading');
  await new Promise((resolve) => setImmediate(resolve));
  queue.add(c);
  assert.ok(c.deadlineAt >= a.deadlineAt + 20, `a later turn reads the clock again (${c.deadlineAt - a.deadlineAt} ms later)`);
  queue.clear();
});
