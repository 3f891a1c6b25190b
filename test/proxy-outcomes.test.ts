/**
 * What each request tells its target's breaker: connection errors, call timeouts, failure statuses
 * and bodies cut off by the upstream are failures; everything else is a success; a client that
 * leaves early is neither, and its upstream request is aborted.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test } from 'node:test';
import { delay, proxy, request, targetOf, upstream, waitFor } from './proxy-helpers.js';

const OPTIONS = { timeout: 200, breaker: { failureThreshold: 100 } };

test('a 200 answer counts as a success', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url, ...OPTIONS });
  const reply = await request(p.port, '/hello');
  assert.equal(reply.status, 200);
  const target = targetOf(p, up.url);
  assert.deepEqual(target.counts, { admitted: 1, successes: 1, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
  assert.equal(target.requests.success, 1);
  assert.equal(target.inFlight, 0);
});

test('a refused connection counts as a failure', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url, ...OPTIONS });
  assert.equal((await request(p.port, '/')).status, 502);
  const target = targetOf(p, up.url);
  assert.equal(target.failures, 1);
  assert.equal(target.counts.failures, 1);
  assert.equal(target.requests.error, 1);
});

test('a connection reset before the response counts as a failure', async (t) => {
  const up = await upstream(t, { mode: 'reset' });
  const p = await proxy(t, { target: up.url, ...OPTIONS });
  assert.equal((await request(p.port, '/')).status, 502);
  assert.equal(targetOf(p, up.url).failures, 1);
  assert.equal(targetOf(p, up.url).requests.error, 1);
});

test('no response headers within timeout counts as a failure', async (t) => {
  const up = await upstream(t, { mode: 'hang' });
  const p = await proxy(t, { target: up.url, ...OPTIONS });
  assert.equal((await request(p.port, '/')).status, 504);
  const target = targetOf(p, up.url);
  assert.equal(target.failures, 1);
  assert.equal(target.requests.timeout, 1);
  // The hanging upstream request is abandoned, not left open.
  await waitFor('the upstream request to be aborted', () => up.stats().inFlight === 0);
});

test('a slow answer that starts within timeout counts as a success', async (t) => {
  const up = await upstream(t, { mode: { type: 'slow', delay: 50 } });
  const p = await proxy(t, { target: up.url, ...OPTIONS });
  assert.equal((await request(p.port, '/')).status, 200);
  assert.equal(targetOf(p, up.url).counts.successes, 1);
  assert.equal(targetOf(p, up.url).failures, 0);
});

test('a 5xx answer counts as a failure by default', async (t) => {
  const up = await upstream(t, { mode: { type: 'status', status: 500 } });
  const p = await proxy(t, { target: up.url, ...OPTIONS });
  assert.equal((await request(p.port, '/')).status, 500);
  const target = targetOf(p, up.url);
  assert.equal(target.failures, 1);
  assert.equal(target.requests.failure_status, 1);
});

test('a 4xx answer counts as a success by default', async (t) => {
  const up = await upstream(t, { mode: { type: 'status', status: 404 } });
  const p = await proxy(t, { target: up.url, ...OPTIONS });
  assert.equal((await request(p.port, '/')).status, 404);
  assert.equal(targetOf(p, up.url).counts.successes, 1);
  assert.equal(targetOf(p, up.url).failures, 0);
});

test('failureStatus decides which statuses are failures', async (t) => {
  const up = await upstream(t, { mode: { type: 'status', status: 429 } });
  const p = await proxy(t, { target: up.url, ...OPTIONS, failureStatus: '429,502-504' });
  assert.equal((await request(p.port, '/')).status, 429);
  assert.equal(targetOf(p, up.url).failures, 1);
  await up.setMode({ type: 'status', status: 500 });
  assert.equal((await request(p.port, '/')).status, 500);
  // 500 is outside "429,502-504": a success, which resets the consecutive count.
  assert.equal(targetOf(p, up.url).failures, 0);
  assert.equal(targetOf(p, up.url).counts.successes, 1);
});

test('an upstream that dies mid-body counts as a failure', async (t) => {
  const up = await upstream(t, { mode: 'reset-mid-body' });
  const p = await proxy(t, { target: up.url, ...OPTIONS });
  await assert.rejects(request(p.port, '/'));
  await waitFor('the outcome', () => targetOf(p, up.url).requests.error === 1);
  assert.equal(targetOf(p, up.url).failures, 1);
  assert.equal(targetOf(p, up.url).counts.successes, 0);
});

test('a client that leaves before the response aborts the upstream request and is not charged', async (t) => {
  const up = await upstream(t, { mode: 'hang' });
  const p = await proxy(t, { target: up.url, timeout: 5_000 });
  const req = http.request({ host: '127.0.0.1', port: p.port, path: '/', agent: false });
  req.on('error', () => undefined);
  req.end();
  await waitFor('the request to reach the upstream', () => up.stats().inFlight === 1);
  req.destroy();
  await waitFor('the upstream request to be aborted', () => up.stats().inFlight === 0 && up.stats().aborted === 1);
  const target = targetOf(p, up.url);
  assert.deepEqual(target.counts, { admitted: 1, successes: 0, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
  assert.equal(target.requests.aborted, 1);
  assert.equal(target.inFlight, 0);
  assert.equal(p.proxy.inFlight, 0);
});

test('a client that leaves mid-body aborts the upstream response and is not charged', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url, ...OPTIONS });
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: p.port, path: `/bytes/${256 * 1024 * 1024}`, agent: false });
    req.on('error', () => undefined);
    req.on('response', (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.setTimeout(3_000, () => reject(new Error('no body')));
    req.end();
  });
  await waitFor('the upstream response to be aborted', () => up.stats().inFlight === 0 && up.stats().aborted === 1);
  const target = targetOf(p, up.url);
  assert.equal(target.counts.failures, 0);
  assert.equal(target.counts.successes, 0);
  assert.equal(target.requests.aborted, 1);
});

test('a client that leaves during a failure-status body is charged once for the status', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url, ...OPTIONS, failureStatus: '200' });
  await new Promise<void>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: p.port, path: `/bytes/${64 * 1024 * 1024}`, agent: false });
    req.on('error', () => undefined);
    req.on('response', (res) => res.once('data', () => (req.destroy(), resolve())));
    req.end();
  });
  await waitFor('the outcome', () => targetOf(p, up.url).requests.aborted === 1);
  await delay(20);
  assert.equal(targetOf(p, up.url).counts.failures, 1);
});

test('the proxy reports each outcome in a response event', async (t) => {
  const up = await upstream(t, { mode: { type: 'status', status: 503 } });
  const p = await proxy(t, { target: up.url, ...OPTIONS });
  const seen: Array<{ status: number; outcome: string; target: string }> = [];
  p.proxy.on('response', ({ status, outcome, target }) => seen.push({ status, outcome, target }));
  await request(p.port, '/');
  await up.setMode('refuse');
  await request(p.port, '/');
  await up.setMode('hang');
  await request(p.port, '/');
  assert.deepEqual(seen, [
    { status: 503, outcome: 'failure_status', target: up.url },
    { status: 502, outcome: 'error', target: up.url },
    { status: 504, outcome: 'timeout', target: up.url },
  ]);
});
