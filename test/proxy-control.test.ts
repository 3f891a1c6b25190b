/** proxy.breakers: manual control of one target's circuit, by origin, answered with its snapshot. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProxy, type BreakerAction, type Proxy } from '../lib/index.js';
import { request, startProxy, upstreams } from './targets-helpers.js';

function idle(t: { after(fn: () => unknown): void }): Proxy {
  const proxy = createProxy({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], breaker: { resetTimeout: 60_000 } });
  t.after(() => proxy.close(0));
  return proxy;
}

test('breakers.open(origin) holds that target OPEN and returns its snapshot', (t) => {
  const proxy = idle(t);
  const snapshot = proxy.breakers.open('http://127.0.0.1:2');
  assert.equal(snapshot?.target, 'http://127.0.0.1:2');
  assert.equal(snapshot?.state, 'OPEN');
  assert.equal(snapshot?.forced, true);
  assert.deepEqual(proxy.snapshot().targets.map((target) => target.state), ['CLOSED', 'OPEN']);
});

test('breakers.close(origin) ends a forced open', (t) => {
  const proxy = idle(t);
  proxy.breakers.open('http://127.0.0.1:1');
  const snapshot = proxy.breakers.close('http://127.0.0.1:1');
  assert.deepEqual([snapshot?.state, snapshot?.forced], ['CLOSED', false]);
});

test('breakers.reset(origin) clears the breaker\'s counts', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, { target: a!.url, breaker: { failureThreshold: 1, resetTimeout: 60_000 } });
  await request(url);
  assert.equal(proxy.snapshot().targets[0]!.counts.failures, 1);
  const snapshot = proxy.breakers.reset(a!.url);
  assert.equal(snapshot?.state, 'CLOSED');
  assert.deepEqual(snapshot?.counts, { admitted: 0, successes: 0, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
});

test('breakers take an origin in any spelling the URL parser reads the same', (t) => {
  const proxy = createProxy({ target: 'http://127.0.0.1', breaker: { resetTimeout: 60_000 } });
  t.after(() => proxy.close(0));
  assert.equal(proxy.breakers.open('HTTP://127.0.0.1:80/some/path')?.state, 'OPEN');
  assert.equal(proxy.breakers.close('http://127.0.0.1/')?.state, 'CLOSED');
});

test('breakers return undefined for an unknown target and change nothing', (t) => {
  const proxy = idle(t);
  assert.equal(proxy.breakers.open('http://127.0.0.1:3'), undefined);
  assert.equal(proxy.breakers.reset('not a url'), undefined);
  assert.deepEqual(proxy.snapshot().targets.map((target) => target.state), ['CLOSED', 'CLOSED']);
});

test('a command sent as data is applied with breakers[action](target)', (t) => {
  const proxy = idle(t);
  const command = JSON.parse('{"action":"open","target":"http://127.0.0.1:1"}') as { action: BreakerAction; target: string };
  assert.equal(proxy.breakers[command.action](command.target)?.state, 'OPEN');
});
