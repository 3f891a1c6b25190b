/**
 * Balancing through the proxy, against fixture upstreams: least-request under a slow replica,
 * weights from the options, open targets skipped by every strategy.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test } from 'node:test';
import type { ProxyOptions } from '../lib/index.js';
import { counts, keepAliveAgent, request, since, startProxy, upstreams } from './targets-helpers.js';

/** Sends `total` GETs from `parallel` clients, each sending its next as soon as its last is answered. */
async function load(url: string, total: number, parallel: number, agent: http.Agent): Promise<void> {
  let sent = 0;
  const client = async (): Promise<void> => {
    while (sent < total) {
      sent++;
      assert.equal((await request(url, { agent })).status, 200);
    }
  };
  await Promise.all(Array.from({ length: parallel }, client));
}

test('under least-request a slow replica gets clearly less traffic than a fast one', async (t) => {
  const [fast, slow] = await upstreams(t, ['ok', { type: 'slow', delay: 100 }]);
  const { url } = await startProxy(t, { targets: [fast!.url, slow!.url], balance: 'least-request' });
  await load(url, 200, 8, keepAliveAgent(t));
  const [toFast, toSlow] = counts([fast!, slow!]);
  assert.equal(toFast! + toSlow!, 200);
  // Round-robin would split 100:100; the slow one holds its requests 100 ms, so it loses most draws.
  assert.ok(toFast! > 2 * toSlow!, `fast ${toFast}, slow ${toSlow}`);
});

test('weights from the options split round-robin traffic exactly 3:1', async (t) => {
  const [a, b] = await upstreams(t, ['ok', 'ok']);
  const options: ProxyOptions = { routes: [{ match: '/', targets: [{ url: a!.url, weight: 3 }, b!.url] }] };
  const { url } = await startProxy(t, options);
  await load(url, 400, 1, keepAliveAgent(t));
  assert.deepEqual(counts([a!, b!]), [300, 100]);
});

test('weights hold under least-request with concurrent load, within a wide margin', async (t) => {
  const [a, b] = await upstreams(t, ['ok', 'ok']);
  const { url } = await startProxy(t, { targets: [{ url: a!.url, weight: 3 }, { url: b!.url }], balance: 'least-request' });
  await load(url, 400, 8, keepAliveAgent(t));
  const [toA, toB] = counts([a!, b!]);
  assert.ok(toA! > 2 * toB! && toA! < 4.5 * toB!, `3:1 expected, got ${toA}:${toB}`);
});

for (const balance of ['round-robin', 'least-request'] as const) {
  for (const weighted of [false, true]) {
    test(`${balance}${weighted ? ' with weights' : ''} sends nothing to an open target`, async (t) => {
      const list = await upstreams(t, ['ok', 'ok', 'ok']);
      const targets = list.map((u, i) => (weighted ? { url: u.url, weight: i + 1 } : u.url));
      const { proxy, url } = await startProxy(t, { targets, balance });
      proxy.breakers.open(list[1]!.url);
      const before = counts(list);
      await load(url, 60, 4, keepAliveAgent(t));
      const [toA, toB, toC] = since(list, before);
      assert.equal(toB, 0);
      assert.equal(toA! + toC!, 60);
    });
  }
}

test('the snapshot shows each route’s strategy, weights and retried statuses', async (t) => {
  const [a, b] = await upstreams(t, ['ok', 'ok']);
  const { proxy } = await startProxy(t, {
    balance: 'least-request',
    routes: [{ match: '/', targets: [{ url: a!.url, weight: 2 }, b!.url], retryOn: '502-504', balance: 'round-robin' }, { match: '/b', targets: b!.url }],
  });
  const [root, other] = [...proxy.snapshot().routes].sort((x, y) => x.match.localeCompare(y.match));
  assert.deepEqual([root!.balance, root!.weights, root!.retryOn], ['round-robin', [2, 1], '502-504']);
  assert.deepEqual([other!.balance, other!.weights, other!.retryOn], ['least-request', [1], null]);
});
