/**
 * The per-target breaker as the proxy drives it: it opens at the threshold, keeps traffic away
 * from the upstream while open, lets a probe through after resetTimeout, and the probe decides.
 */
import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { StateChangeInfo } from '../lib/index.js';
import { delay, proxy, request, targetOf, upstream, type StartedProxy } from './proxy-helpers.js';

const RESET = 150;
const BREAKER = { failureThreshold: 3, resetTimeout: RESET, jitter: 0 };

/** A proxy in front of an upstream answering 500, with its stateChange events recorded. */
async function failing(t: TestContext): Promise<{ p: StartedProxy; up: Awaited<ReturnType<typeof upstream>>; changes: StateChangeInfo[] }> {
  const up = await upstream(t, { mode: { type: 'status', status: 500 } });
  const p = await proxy(t, { target: up.url, timeout: 500, breaker: BREAKER });
  const changes: StateChangeInfo[] = [];
  p.proxy.on('stateChange', (info) => changes.push(info));
  return { p, up, changes };
}

async function trip(p: StartedProxy): Promise<void> {
  for (let i = 0; i < BREAKER.failureThreshold; i++) assert.equal((await request(p.port, '/')).status, 500);
}

test('the circuit opens after failureThreshold failures', async (t) => {
  const { p, up } = await failing(t);
  await request(p.port, '/');
  await request(p.port, '/');
  assert.equal(targetOf(p, up.url).state, 'CLOSED');
  await request(p.port, '/');
  assert.equal(targetOf(p, up.url).state, 'OPEN');
});

test('while open no request reaches the upstream', async (t) => {
  const { p, up } = await failing(t);
  await trip(p);
  const before = up.stats().requests;
  for (let i = 0; i < 5; i++) assert.equal((await request(p.port, '/')).status, 503);
  assert.equal(up.stats().requests, before);
  assert.equal(targetOf(p, up.url).counts.rejections, 5);
  assert.equal(targetOf(p, up.url).requests.rejected, 5);
});

test('after resetTimeout a successful probe closes the circuit', async (t) => {
  const { p, up, changes } = await failing(t);
  await trip(p);
  await up.setMode('ok');
  await delay(RESET + 30);
  const before = up.stats().requests;
  assert.equal((await request(p.port, '/')).status, 200);
  assert.equal(up.stats().requests, before + 1);
  assert.equal(targetOf(p, up.url).state, 'CLOSED');
  assert.deepEqual(
    changes.map(({ from, to }) => `${from}>${to}`),
    ['CLOSED>OPEN', 'OPEN>HALF_OPEN', 'HALF_OPEN>CLOSED'],
  );
  assert.equal((await request(p.port, '/')).status, 200);
});

test('a failed probe opens the circuit again', async (t) => {
  const { p, up, changes } = await failing(t);
  await trip(p);
  await delay(RESET + 30);
  assert.equal((await request(p.port, '/')).status, 500, 'the probe reaches the upstream');
  assert.equal(targetOf(p, up.url).state, 'OPEN');
  assert.equal((await request(p.port, '/')).status, 503);
  assert.deepEqual(
    changes.map(({ from, to }) => `${from}>${to}`),
    ['CLOSED>OPEN', 'OPEN>HALF_OPEN', 'HALF_OPEN>OPEN'],
  );
});

test('a probe that times out opens the circuit again', async (t) => {
  const up = await upstream(t, { mode: 'hang' });
  const p = await proxy(t, { target: up.url, timeout: 100, breaker: { ...BREAKER, failureThreshold: 1 } });
  assert.equal((await request(p.port, '/')).status, 504);
  await delay(RESET + 30);
  assert.equal((await request(p.port, '/')).status, 504);
  assert.equal(targetOf(p, up.url).state, 'OPEN');
  assert.equal(targetOf(p, up.url).reopenings, 1);
});

test('a probe whose client leaves frees the probe slot without deciding', async (t) => {
  const up = await upstream(t, { mode: { type: 'status', status: 500 } });
  const p = await proxy(t, { target: up.url, timeout: 2_000, breaker: { ...BREAKER, failureThreshold: 1 } });
  await request(p.port, '/');
  await up.setMode('hang');
  await delay(RESET + 30);
  await assert.rejects(request(p.port, '/', { timeout: 100 }));
  await delay(30);
  const target = targetOf(p, up.url);
  assert.equal(target.state, 'HALF_OPEN');
  assert.equal(target.probes, 0);
  await up.setMode('ok');
  assert.equal((await request(p.port, '/')).status, 200);
  assert.equal(targetOf(p, up.url).state, 'CLOSED');
});

test('stateChange events name the target origin', async (t) => {
  const { p, up, changes } = await failing(t);
  await trip(p);
  assert.equal(changes.length, 1);
  const [change] = changes;
  assert.equal(change!.target, up.url);
  assert.equal(change!.from, 'CLOSED');
  assert.equal(change!.to, 'OPEN');
  assert.equal(change!.failures, BREAKER.failureThreshold);
  assert.equal((change!.error as { code?: string }).code, 'ERR_UPSTREAM_STATUS');
});

test('each target has its own breaker', async (t) => {
  const down = await upstream(t, { mode: 'refuse' });
  const healthy = await upstream(t);
  const p = await proxy(t, {
    routes: [
      { match: '/down', targets: [down.url] },
      { match: '/up', targets: [healthy.url] },
    ],
    breaker: { failureThreshold: 1, resetTimeout: 10_000 },
  });
  assert.equal((await request(p.port, '/down')).status, 502);
  assert.equal((await request(p.port, '/down')).status, 503);
  assert.equal((await request(p.port, '/up')).status, 200);
  assert.equal(targetOf(p, down.url).state, 'OPEN');
  assert.equal(targetOf(p, healthy.url).state, 'CLOSED');
});

test('the proxy emits proxyError and reject events', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url, breaker: { failureThreshold: 1, resetTimeout: 10_000 } });
  const errors: string[] = [];
  const rejects: string[] = [];
  p.proxy.on('proxyError', ({ error, target }) => errors.push(`${error.code} ${error.type} ${target}`));
  p.proxy.on('reject', ({ reason, route }) => rejects.push(`${reason} ${route}`));
  await request(p.port, '/');
  await request(p.port, '/');
  assert.deepEqual(errors, [`ERR_UPSTREAM_CONNECTION connection_refused ${up.url}`]);
  assert.deepEqual(rejects, ['open /']);
});

test('the proxyError that trips a circuit is emitted before the stateChange it causes', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url, breaker: { failureThreshold: 1 } });
  const events: string[] = [];
  p.proxy.on('proxyError', ({ error }) => events.push(`proxyError ${error.type}`));
  p.proxy.on('stateChange', ({ from, to }) => events.push(`stateChange ${from}>${to}`));
  assert.equal((await request(p.port, '/')).status, 502);
  assert.deepEqual(events, ['proxyError connection_refused', 'stateChange CLOSED>OPEN']);
});
