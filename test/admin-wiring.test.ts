/** The admin API as the proxy object exposes it: proxy.metrics() and proxy.adminHandler. */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startUpstream } from '../fixtures/upstream.js';
import { createProxy } from '../lib/index.js';

test('proxy.metrics() renders the exposition text of its targets', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const proxy = createProxy({ target: up.url });
  t.after(() => proxy.close(0));
  assert.match(proxy.metrics(), /# TYPE proxy_breaker_state gauge/);
  assert.match(proxy.metrics(), new RegExp(`proxy_breaker_in_flight\\{target="${up.url}"\\} 0`));
});

test('proxy.adminHandler is one handler, mountable on an app server, and close() stops it', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const proxy = createProxy({ target: up.url });
  assert.equal(proxy.adminHandler, proxy.adminHandler);
  const server = http.createServer(proxy.adminHandler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const status = await new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/readyz', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    }).on('error', reject);
  });
  assert.equal(status, 200);
  await proxy.close(0);
  // The handler's listener on the proxy is gone after close().
  assert.equal(proxy.listenerCount('stateChange'), 0);
});
