import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test } from 'node:test';
import { Target } from '../lib/proxy/target.js';
import { counts, keepAliveAgent, request, since, sleep, startProxy, targetOf, upstreams } from './targets-helpers.js';

const SLOW_START = 3000;

/** Sends `total` GETs, `parallel` at a time; every one must succeed. */
async function burst(url: string, total: number, parallel: number, agent?: http.Agent): Promise<void> {
  for (let sent = 0; sent < total; sent += parallel) {
    const replies = await Promise.all(Array.from({ length: Math.min(parallel, total - sent) }, () => request(url, { agent })));
    for (const reply of replies) assert.equal(reply.status, 200);
  }
}

test('after a target closes again its share grows from a small share to its full share (slowStart)', async (t) => {
  const list = await upstreams(t, [{ type: 'status', status: 500 }, 'ok']);
  const [a] = list;
  const { proxy, url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    slowStart: SLOW_START,
    breaker: { failureThreshold: 1, resetTimeout: 100, jitter: 0 },
  });
  // When each request was balanced, and where it went.
  const picks: Array<{ at: number; target: string }> = [];
  proxy.on('response', (info) => picks.push({ at: performance.now() - info.durationMs, target: info.target }));
  // The breaker's HALF_OPEN -> CLOSED starts the ramp; `stateChange` is emitted in that same turn.
  let recoveredAt = -Infinity;
  proxy.on('stateChange', (info) => {
    if (info.target === a!.url && info.from === 'HALF_OPEN' && info.to === 'CLOSED') recoveredAt = performance.now();
  });
  assert.equal((await request(url)).status, 500);
  await a!.setMode('ok');
  await sleep(150);
  // The next request the rotation gives the first target is its probe, which closes the circuit.
  while (targetOf(proxy, a!).state !== 'CLOSED') assert.equal((await request(url)).status, 200);

  const agent = keepAliveAgent(t);
  picks.length = 0;
  await burst(url, 300, 30, agent);
  const early = picks.filter((pick) => pick.target === a!.url).length;
  // Every other pick is the recovering target's turn, which it takes with probability
  // 0.1 + 0.9 * elapsed / slowStart. The expectation follows the burst's own timing, so a slow
  // machine moves the bounds rather than failing the test; 6 standard deviations never flake.
  const expected = picks.reduce((sum, pick) => sum + Math.min(1, 0.1 + (0.9 * (pick.at - recoveredAt)) / SLOW_START), 0) / 2;
  const slack = 6 * Math.sqrt(expected) + 3;
  const spentMs = Math.max(...picks.map((pick) => pick.at)) - recoveredAt;
  const what = `early in the ramp the target got ${early} of 300 (expected ${expected.toFixed(1)}, burst over ${spentMs.toFixed(0)} ms)`;
  assert.ok(early >= 1, 'a recovering target still gets some traffic');
  assert.ok(Math.abs(early - expected) <= slack, what);

  await sleep(Math.max(0, recoveredAt + SLOW_START + 50 - performance.now()));
  const before = counts(list);
  await burst(url, 300, 30, agent);
  const [late, other] = since(list, before);
  // After the ramp, plain round-robin again: exactly half.
  assert.ok(Math.abs(late! - other!) <= 1, `after the ramp the split was ${late}:${other}`);
  assert.ok(late! > early, `the share grew (${what})`);
});

test('slowStart does not hold back a target that never failed', async (t) => {
  const list = await upstreams(t, ['ok', 'ok']);
  const { url } = await startProxy(t, { targets: list.map((u) => u.url), slowStart: 60_000 });
  await burst(url, 40, 1);
  assert.deepEqual(counts(list), [20, 20]);
});

test('during slow start a recovering target still takes everything when no other target admits', async (t) => {
  const list = await upstreams(t, [{ type: 'status', status: 500 }, 'ok']);
  const [a, b] = list;
  const { proxy, url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    slowStart: 60_000,
    breaker: { failureThreshold: 1, resetTimeout: 100, jitter: 0 },
  });
  await request(url);
  await a!.setMode('ok');
  await sleep(150);
  while (targetOf(proxy, a!).state !== 'CLOSED') await request(url);
  // Hold the other target open (no probes): the recovering one is the only one that admits.
  proxy.breakers.open(b!.url);
  const before = counts(list);
  for (let i = 0; i < 10; i++) assert.equal((await request(url)).status, 200);
  assert.deepEqual(since(list, before), [10, 0]);
});

test('the slow-start weight grows linearly from 0.1 to 1 over slowStart', () => {
  const target = new Target(new URL('http://127.0.0.1:1'), {
    breaker: { failureThreshold: 1, resetTimeout: 100 },
    tls: { rejectUnauthorized: true, ca: undefined, clientCert: undefined, clientKey: undefined },
    maxConcurrent: Infinity,
    slowStart: 1000,
    syntheticProbes: false,
  });
  assert.equal(target.weight(performance.now()), 1, 'never recovered: full weight');
  target.recoveredAt = 5000;
  assert.equal(target.weight(5000), 0.1);
  assert.ok(Math.abs(target.weight(5500) - 0.55) < 1e-9);
  assert.ok(Math.abs(target.weight(5750) - 0.775) < 1e-9);
  assert.equal(target.weight(6000), 1);
  assert.equal(target.weight(9000), 1);
  target.close();
});
