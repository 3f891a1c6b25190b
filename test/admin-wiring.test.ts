/** The admin API from the package root: renderMetrics(proxy) and createAdminHandler(proxy) on any server. */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startUpstream } from '../fixtures/upstream.js';
import { createAdminHandler, createProxy, renderMetrics } from '../lib/index.js';

test('renderMetrics(proxy) renders the exposition text of its targets', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const proxy = createProxy({ target: up.url });
  t.after(() => proxy.close(0));
  assert.match(renderMetrics(proxy), /# TYPE proxy_breaker_state gauge/);
  assert.match(renderMetrics(proxy), new RegExp(`proxy_breaker_in_flight\\{target="${up.url}"\\} 0`));
});

test('createAdminHandler(proxy) mounts on an app server, and its close() stops listening to the proxy', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const proxy = createProxy({ target: up.url });
  t.after(() => proxy.close(0));
  const handler = createAdminHandler(proxy);
  const server = http.createServer(handler);
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
  assert.equal(proxy.listenerCount('stateChange'), 1);
  handler.close();
  assert.equal(proxy.listenerCount('stateChange'), 0);
});
