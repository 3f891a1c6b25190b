import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Upstream } from '../fixtures/upstream.js';
import type { Proxy } from '../lib/index.js';
import { counts, request, since, sleep, startProxy, targetOf, until, upstreams } from './targets-helpers.js';

interface ProbeLog {
  /** One entry per settled probe: what the upstream had received by then. */
  probes: Array<{ requests: number; url: string | undefined; userAgent: string | undefined; to: string }>;
  closed: boolean;
}

/**
 * Records, at every transition out of HALF_OPEN, what the failing upstream has received: with
 * synthetic probes each must be exactly one more request, a GET of the probe path.
 */
function logProbes(proxy: Proxy, upstream: Upstream): ProbeLog {
  const log: ProbeLog = { probes: [], closed: false };
  proxy.on('stateChange', ({ target, from, to }) => {
    if (target !== upstream.url || from !== 'HALF_OPEN') return;
    const stats = upstream.stats();
    log.probes.push({ requests: stats.requests, url: stats.last?.url, userAgent: stats.last?.headers['user-agent'], to });
    if (to === 'CLOSED') log.closed = true;
  });
  return log;
}

function assertOnlyProbes(log: ProbeLog, requestsWhenOpened: number): void {
  log.probes.forEach((probe, i) => {
    assert.equal(probe.requests, requestsWhenOpened + i + 1, `probe ${i}: the upstream got only the probes while not CLOSED`);
    assert.equal(probe.url, '/health');
    assert.equal(probe.userAgent, 'proxy-breaker-probe');
  });
}

test('with probePath the proxy probes an open target itself; client requests never reach it until it closes', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, {
    target: a!.url,
    probePath: '/health',
    breaker: { failureThreshold: 1, resetTimeout: 150, jitter: 0 },
  });
  const log = logProbes(proxy, a!);
  assert.equal((await request(url)).status, 500);
  assert.notEqual(targetOf(proxy, a!).state, 'CLOSED');

  // Client traffic while the circuit is not CLOSED: all refused by the proxy.
  const statuses: number[] = [];
  const traffic = (async () => {
    while (!log.closed) {
      const reply = await request(url);
      if (!log.closed) statuses.push(reply.status);
      await sleep(10);
    }
  })();
  // The first probe (at ~150 ms) fails: the circuit opens again for 300 ms, then heal it.
  await until(() => log.probes.length === 1, 'the first probe', 2000);
  assert.equal(log.probes[0]!.to, 'OPEN');
  await a!.setMode('ok');
  await until(() => log.closed, 'a probe to close the circuit', 2000);
  await traffic;

  assert.ok(statuses.length >= 1, 'client requests were sent meanwhile');
  assert.ok(statuses.every((status) => status === 503), `client requests while not CLOSED: ${statuses}`);
  assertOnlyProbes(log, 1);
  assert.equal(log.probes.at(-1)!.to, 'CLOSED');
  assert.equal(targetOf(proxy, a!).state, 'CLOSED');

  // Traffic returns to the target.
  const reply = await request(url);
  assert.equal(reply.status, 200);
  assert.equal(a!.stats().last?.url, '/');
});

test('with probePath and two targets, traffic stays on the healthy one until the probe closes the other', async (t) => {
  const list = await upstreams(t, [{ type: 'status', status: 500 }, 'ok']);
  const [a, b] = list;
  const { proxy, url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    probePath: '/health',
    breaker: { failureThreshold: 1, resetTimeout: 150, jitter: 0 },
  });
  const log = logProbes(proxy, a!);
  assert.equal((await request(url)).status, 500);
  await a!.setMode('ok');

  const before = counts(list);
  const statuses: number[] = [];
  while (!log.closed) {
    statuses.push((await request(url)).status);
    await sleep(10);
  }
  assert.ok(statuses.every((status) => status === 200), 'no 503 while the other target is healthy');
  assertOnlyProbes(log, before[0]!);
  assert.equal(log.probes.length, 1, 'one probe, and it closed the circuit');
  // Every client request went to the healthy target, except perhaps the last one, which may
  // have arrived just after the probe closed the circuit.
  const [toA, toB] = since(list, before);
  assert.equal(toA! + toB!, statuses.length + 1);
  assert.ok(toB! >= statuses.length - 1);

  const after = counts(list);
  for (let i = 0; i < 10; i++) assert.equal((await request(url)).status, 200);
  assert.deepEqual(since(list, after), [5, 5], 'after the probe the traffic is balanced again');
  assert.equal(b!.stats().last?.url, '/');
});

test('a probe that times out counts as a failed probe', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, {
    target: a!.url,
    probePath: '/health',
    timeout: 100,
    breaker: { failureThreshold: 1, resetTimeout: 200, jitter: 0 },
  });
  const log = logProbes(proxy, a!);
  await request(url);
  await a!.setMode('hang');
  await until(() => log.probes.length === 1, 'the probe to time out', 2000);
  assert.equal(log.probes[0]!.to, 'OPEN');
  assert.equal(log.probes[0]!.url, '/health');
  assert.deepEqual(a!.stats().byStatus, { 500: 1 }, 'the probe got no answer');
  const snapshot = targetOf(proxy, a!);
  assert.equal(snapshot.reopenings, 1);
  assert.equal(snapshot.openPeriod, 400);
});

test('probes turned on by a reload while a circuit is past its open period still probe it', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const options = { target: a!.url, breaker: { failureThreshold: 1, resetTimeout: 50, jitter: 0 } };
  const { proxy, url } = await startProxy(t, options);
  await request(url);
  await a!.setMode('ok');
  await sleep(100); // the open period is over; nothing has asked the circuit since
  proxy.reload({ ...options, probePath: '/health' });
  await until(() => targetOf(proxy, a!).state === 'CLOSED', 'the probe to close the circuit', 2000);
  assert.equal(a!.stats().last?.url, '/health');
  assert.equal((await request(url)).status, 200);
});

test('a circuit closed by hand before its probe was due is not probed', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, {
    target: a!.url,
    probePath: '/health',
    breaker: { failureThreshold: 1, resetTimeout: 50, jitter: 0 },
  });
  await request(url);
  proxy.breakers.close(a!.url);
  await sleep(150);
  assert.equal(a!.stats().requests, 1, 'no health check went to the closed target');
  const snapshot = targetOf(proxy, a!);
  assert.equal(snapshot.state, 'CLOSED');
  assert.equal(snapshot.counts.failures, 1);
});

test('a probe cut short by a reload that turns probes off is not counted as a failed probe', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const options = { target: a!.url, breaker: { failureThreshold: 1, resetTimeout: 200, jitter: 0 } };
  const { proxy, url } = await startProxy(t, { ...options, probePath: '/health' });
  await request(url);
  await a!.setMode('hang');
  await until(() => a!.stats().inFlight === 1, 'the probe to hang');
  proxy.reload(options);
  await sleep(20);
  let snapshot = targetOf(proxy, a!);
  assert.deepEqual([snapshot.state, snapshot.reopenings, snapshot.counts.failures], ['HALF_OPEN', 0, 1]);
  // Without synthetic probes the next client request is the probe.
  await a!.setMode('ok');
  assert.equal((await request(url)).status, 200);
  snapshot = targetOf(proxy, a!);
  assert.equal(snapshot.state, 'CLOSED');
});

test('a probe emits no response event and is not counted as a request of its target', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, {
    target: a!.url,
    probePath: '/health',
    breaker: { failureThreshold: 1, resetTimeout: 100, jitter: 0 },
  });
  const responses: string[] = [];
  proxy.on('response', ({ req }) => responses.push(req.url ?? ''));
  const log = logProbes(proxy, a!);
  assert.equal((await request(url)).status, 500);
  await a!.setMode('ok');
  await until(() => log.closed, 'a probe to close the circuit', 2000);
  assert.equal(a!.stats().last?.url, '/health', 'the probe reached the target');
  assert.deepEqual(responses, ['/'], 'only the client request was reported');
  const snapshot = targetOf(proxy, a!);
  assert.deepEqual(snapshot.requests, { success: 0, failure_status: 1, error: 0, timeout: 0, body_timeout: 0, rejected: 0, limited: 0, aborted: 0, fallback: 0 });
  assert.equal(snapshot.latency.count, 1);
  assert.equal(snapshot.inFlight, 0);
  assert.equal(snapshot.counts.successes, 1, 'the breaker counted the probe');
});

test("a probe reads at most a bounded part of its answer's body, then drops the connection", async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, {
    target: a!.url,
    probePath: `/bytes/${64 * 1024 * 1024}`,
    breaker: { failureThreshold: 1, resetTimeout: 50, jitter: 0 },
  });
  assert.equal((await request(url)).status, 500);
  await a!.setMode('ok');
  await until(() => targetOf(proxy, a!).state === 'CLOSED', 'the probe to close the circuit', 2000);
  await until(() => a!.stats().aborted === 1, 'the probe to drop its connection', 2000);
  assert.equal(a!.stats().inFlight, 0);
});
