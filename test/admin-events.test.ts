/**
 * `GET /events`: Server-Sent Events read off a raw `http.get`. A state transition arrives as
 * `event: state`, counters as `event: stats`; many clients share one proxy listener and leave
 * nothing behind when they go.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test } from 'node:test';
import { EventHub } from '../lib/admin/events.js';
import { RateSampler } from '../lib/admin/rates.js';
import type { StateEventData, StatsView } from '../lib/admin/index.js';
import { createProxy } from '../lib/index.js';
import { fetchText, SseReader, stack, trip, until } from './admin-helpers.js';

test('GET /events is an event stream that delivers a state transition as `event: state`', async (t) => {
  const s = await stack(t);
  const reader = await SseReader.open(`${s.admin.url}/events`);
  t.after(() => reader.close());
  assert.equal(reader.res!.statusCode, 200);
  assert.equal(reader.res!.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(reader.res!.headers['cache-control'], 'no-store');
  const before = Date.now();
  await trip(s);
  const event = await reader.next((e) => e.event === 'state');
  const data = JSON.parse(event.data) as StateEventData;
  assert.equal(data.target, s.upstream.url);
  assert.equal(data.from, 'CLOSED');
  assert.equal(data.to, 'OPEN');
  assert.equal(data.failures, 3);
  assert.ok(data.time >= before && data.time <= Date.now());
  assert.equal(data.forced, false);
  assert.ok(data.nextAttemptAt !== null && data.nextAttemptAt > data.time);
});

test('manual control shows up on the stream too', async (t) => {
  const s = await stack(t);
  const reader = await SseReader.open(`${s.admin.url}/events`);
  t.after(() => reader.close());
  await fetchText(`${s.admin.url}/breakers/${s.encoded}/open`, { method: 'POST' });
  await fetchText(`${s.admin.url}/breakers/${s.encoded}/close`, { method: 'POST' });
  const opened = JSON.parse((await reader.next((e) => e.event === 'state' && e.data.includes('"to":"OPEN"'))).data) as StateEventData;
  assert.equal(opened.forced, true);
  assert.equal(opened.nextAttemptAt, null);
  await reader.next((e) => e.event === 'state' && e.data.includes('"to":"CLOSED"'));
});

test('`event: stats` arrives every sample interval with per-target counters and rates', async (t) => {
  const s = await stack(t, { sampleInterval: 50 });
  const reader = await SseReader.open(`${s.admin.url}/events`);
  t.after(() => reader.close());
  await fetchText(`${s.proxyUrl}/`);
  await until(() => reader.events.filter((e) => e.event === 'stats').length >= 3);
  const stats = reader.events.filter((e) => e.event === 'stats').map((e) => JSON.parse(e.data) as StatsView);
  const last = stats.at(-1)!;
  assert.equal(last.targets.length, 1);
  const target = last.targets[0]!;
  assert.equal(target.target, s.upstream.url);
  assert.equal(target.state, 'CLOSED');
  assert.equal(target.requests.success, 1);
  assert.ok(target.point !== null);
  assert.equal(typeof target.rates.requestRate, 'number');
  assert.ok(stats.some((view) => view.targets[0]!.point!.requests === 1), 'the request shows up in one interval');
});

test('the stream starts with a retry hint and sends heartbeat comments', async (t) => {
  const s = await stack(t, { sampleInterval: 10 });
  const reader = await SseReader.open(`${s.admin.url}/events`);
  t.after(() => reader.close());
  await until(() => reader.comments.includes('heartbeat'));
  assert.equal(reader.comments[0], 'connected');
});

test('many clients connecting and disconnecting share one proxy listener and leave none behind', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const s = await stack(t, { sampleInterval: 20 });
  const baseline = s.proxy.listenerCount('stateChange');
  assert.equal(baseline, 1, 'the admin server listens once');
  for (let round = 0; round < 3; round++) {
    const readers = await Promise.all(Array.from({ length: 30 }, () => SseReader.open(`${s.admin.url}/events`)));
    assert.equal(s.proxy.listenerCount('stateChange'), baseline);
    await trip(s);
    await Promise.all(readers.map((reader) => reader.next((e) => e.event === 'state')));
    for (const reader of readers) reader.close();
    await fetchText(`${s.admin.url}/breakers/${s.encoded}/reset`, { method: 'POST' });
    await s.upstream.setMode('ok');
  }
  assert.equal(s.proxy.listenerCount('stateChange'), baseline);
  await new Promise((resolve) => setTimeout(resolve, 60)); // a few stats ticks to the closed streams
  assert.deepEqual(warnings.map((w) => w.name), []);
  await s.admin.close();
  assert.equal(s.proxy.listenerCount('stateChange'), 0, 'closing the admin server removes its listener');
});

test('closing the admin server ends open event streams', async (t) => {
  const s = await stack(t);
  const reader = await SseReader.open(`${s.admin.url}/events`);
  const ended = new Promise<void>((resolve) => reader.res!.once('close', () => resolve()));
  await s.admin.close();
  await ended;
});

// --- the hub on its own ---------------------------------------------------------------------

async function hubServer(t: import('node:test').TestContext, options: Partial<ConstructorParameters<typeof EventHub>[2]> = {}) {
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
  const sampler = new RateSampler(proxy, { interval: 20 });
  const hub = new EventHub(proxy, sampler, { stats: () => ({ ok: true }), ...options });
  hub.attach();
  hub.attach(); // idempotent
  sampler.start();
  const server = http.createServer((req, res) => hub.connect(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    sampler.stop();
    hub.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as { port: number };
  return { proxy, hub, url: `http://127.0.0.1:${port}/` };
}

test('the hub forgets a client as soon as its connection closes', async (t) => {
  const { proxy, hub, url } = await hubServer(t);
  const readers = await Promise.all(Array.from({ length: 20 }, () => SseReader.open(url)));
  await until(() => hub.clients === 20);
  assert.equal(proxy.listenerCount('stateChange'), 1);
  for (const reader of readers) reader.close();
  await until(() => hub.clients === 0);
  assert.equal(proxy.listenerCount('stateChange'), 1);
  hub.close();
  assert.equal(proxy.listenerCount('stateChange'), 0);
});

test('the hub refuses clients past its limit with 503', async (t) => {
  const { url } = await hubServer(t, { maxClients: 1 });
  const first = await SseReader.open(url);
  t.after(() => first.close());
  const second = await fetchText(url);
  assert.equal(second.status, 503);
  assert.equal(second.headers['retry-after'], '5');
});

test('the hub cuts off a client that stops reading once its queue passes the limit', async (t) => {
  const big = 'x'.repeat(512 * 1024);
  const { hub, url } = await hubServer(t, { stats: () => big, maxBuffered: 64 * 1024 });
  const reader = await SseReader.open(url);
  t.after(() => reader.close());
  reader.res!.pause(); // a paused client never reads the close either: watch the hub instead
  assert.equal(reader.res!.statusCode, 200, 'it was connected');
  await until(() => hub.clients === 0);
});

test('the hub remembers the last transitions per target, bounded', () => {
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
  const hub = new EventHub(proxy, new RateSampler(proxy), { stats: () => ({}), recent: 3 });
  hub.attach();
  for (let i = 0; i < 3; i++) {
    proxy.breakers.open('http://127.0.0.1:1');
    proxy.breakers.close('http://127.0.0.1:1');
  }
  const recent = hub.recent('http://127.0.0.1:1');
  assert.deepEqual(recent.map((r) => `${r.from}>${r.to}`), ['OPEN>CLOSED', 'CLOSED>OPEN', 'OPEN>CLOSED']);
  assert.deepEqual(hub.recent('http://127.0.0.1:2'), []);
  hub.close();
});
