/**
 * The balancing strategies on their own (balance.ts), over real `Target` objects that never open a
 * socket: the order of picks, the skipping of targets that refuse, weights and slow start. Random
 * draws come from a seeded generator, so every order asserted here repeats exactly.
 */
import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createBalancer, type BalanceStrategy, type Random } from '../lib/proxy/balance.js';
import { Target } from '../lib/proxy/target.js';
import { seeded } from './support/random.js';

/** Targets named a, b, c... (by port), closed after the test. */
function targets(t: TestContext, count: number, slowStart = 0): Target[] {
  const list = Array.from(
    { length: count },
    (_, i) =>
      new Target(new URL(`http://127.0.0.1:${i + 1}`), {
        breaker: { failureThreshold: 1, resetTimeout: 60_000 },
        tls: { rejectUnauthorized: true, ca: undefined, clientCert: undefined, clientKey: undefined },
        maxConcurrent: Infinity,
        slowStart,
        syntheticProbes: false,
      }),
  );
  t.after(() => list.forEach((target) => target.close()));
  return list;
}

const NAMES = 'abcdefgh';
const nameOf = (target: Target): string => NAMES[target.port - 1]!;


/** Makes `count` picks, each finished at once (nothing stays in flight); returns who took each. */
function picks(strategy: BalanceStrategy, list: Target[], weights: number[], count: number, random: Random = seeded(1)): string {
  const balancer = createBalancer(strategy, list, weights, random);
  let order = '';
  for (let i = 0; i < count; i++) {
    const admission = balancer.pick(undefined);
    assert.ok(admission, `pick ${i} found no target`);
    admission.ticket.success();
    order += nameOf(admission.target);
  }
  return order;
}

const share = (order: string, name: string): number => order.split('').filter((c) => c === name).length;

test('round-robin with weights is smooth: 5, 1, 1 goes a a b a c a a, never a run of five', (t) => {
  assert.equal(picks('round-robin', targets(t, 3), [5, 1, 1], 14), 'aabacaa'.repeat(2));
});

test('round-robin with weights 3 and 1 gives exactly 3:1 over 400 requests', (t) => {
  const order = picks('round-robin', targets(t, 2), [3, 1], 400);
  assert.equal(order.slice(0, 8), 'aabaaaba');
  assert.deepEqual([share(order, 'a'), share(order, 'b')], [300, 100]);
});

test('weighted round-robin skips an open target, which banks no turns while it is open', (t) => {
  const list = targets(t, 3);
  const balancer = createBalancer('round-robin', list, [2, 1, 1]);
  list[0]!.breaker.forceOpen();
  let order = '';
  for (let i = 0; i < 8; i++) order += nameOf(balancer.pick(undefined)!.target);
  assert.equal(order, 'bcbcbcbc');
  list[0]!.breaker.forceClose();
  order = '';
  for (let i = 0; i < 8; i++) order += nameOf(balancer.pick(undefined)!.target);
  // Back at its share (2 of 4) at once, not with a burst of the turns it missed.
  assert.equal(share(order, 'a'), 4, order);
  assert.ok(!order.includes('aaa'), order);
});

test('round-robin skips an open target', (t) => {
  const list = targets(t, 3);
  list[1]!.breaker.forceOpen();
  assert.equal(picks('round-robin', list, [1, 1, 1], 6), 'acacac');
});

test('least-request sends each request to the less busy of the two targets drawn', (t) => {
  const list = targets(t, 2);
  list[0]!.inFlight = 5;
  assert.equal(picks('least-request', list, [1, 1], 20), 'b'.repeat(20));
});

test('least-request over many targets never picks the busiest when the others are idle', (t) => {
  const list = targets(t, 4);
  list[2]!.inFlight = 3;
  const order = picks('least-request', list, [1, 1, 1, 1], 400);
  assert.equal(share(order, 'c'), 0);
  for (const name of 'abd') assert.ok(share(order, name) > 80, `${name}: ${share(order, name)} of 400 in ${order}`);
});

test('least-request skips an open target, also when both of its draws are open', (t) => {
  const list = targets(t, 3);
  list[0]!.breaker.forceOpen();
  list[1]!.breaker.forceOpen();
  assert.equal(picks('least-request', list, [1, 1, 1], 50), 'c'.repeat(50));
});

test('least-request honours an exclusion list and returns nothing when every target is excluded or open', (t) => {
  const list = targets(t, 3);
  const balancer = createBalancer('least-request', list, [1, 1, 1], seeded(7));
  for (let i = 0; i < 20; i++) assert.equal(balancer.pick([list[0]!, list[2]!])!.target, list[1]);
  list[1]!.breaker.forceOpen();
  assert.equal(balancer.pick([list[0]!, list[2]!]), undefined);
});

test('least-request with weights divides by the requests in flight per unit of weight: 3:1 when idle, away from a busy target', (t) => {
  const list = targets(t, 2);
  const idle = picks('least-request', list, [3, 1], 400);
  assert.deepEqual([share(idle, 'a'), share(idle, 'b')], [300, 100]);
  // Nine in flight on a, three per unit of weight: 3 / (1 + 3) against 1 / 1, so b takes more.
  list[0]!.inFlight = 9;
  const busy = picks('least-request', list, [3, 1], 400);
  assert.ok(share(busy, 'b') > share(busy, 'a'), busy);
});

test('weighted round-robin multiplies a recovering target’s weight by its slow-start factor', (t) => {
  const list = targets(t, 2, 600_000);
  list[0]!.recoveredAt = performance.now();
  // Factor about 0.1: a weighs about 0.3 against b's 1, not 3.
  const order = picks('round-robin', list, [3, 1], 400);
  assert.ok(share(order, 'a') >= 60 && share(order, 'a') <= 120, `a took ${share(order, 'a')} of 400`);
});

test('least-request passes a recovering target over with probability 1 - its slow-start factor', (t) => {
  const list = targets(t, 2, 600_000);
  list[0]!.recoveredAt = performance.now();
  // With both idle, a would take half; at factor 0.1 it takes about 5%.
  const order = picks('least-request', list, [1, 1], 400);
  assert.ok(share(order, 'a') >= 5 && share(order, 'a') <= 50, `a took ${share(order, 'a')} of 400`);
});

test('during slow start a recovering target still takes the request when no other admits', (t) => {
  for (const strategy of ['round-robin', 'least-request'] as const) {
    const list = targets(t, 2, 600_000);
    list[0]!.recoveredAt = performance.now();
    list[1]!.breaker.forceOpen();
    assert.equal(picks(strategy, list, [1, 1], 20), 'a'.repeat(20), strategy);
    assert.equal(picks(strategy, list, [2, 1], 20), 'a'.repeat(20), `${strategy}, weighted`);
  }
});

test('every strategy skips a target at its concurrency limit, even the least busy one', (t) => {
  for (const [strategy, weights] of [['round-robin', [1, 1]], ['round-robin', [3, 1]], ['least-request', [1, 1]], ['least-request', [3, 1]]] as const) {
    const list = targets(t, 2);
    // a is at its limit with one request; b is busier but has room.
    list[0]!.configure({ ...list[0]!.options, maxConcurrent: 1 });
    list[0]!.inFlight = 1;
    list[1]!.inFlight = 5;
    assert.equal(picks(strategy, list, [...weights], 20), 'b'.repeat(20), `${strategy} ${weights}`);
  }
});
