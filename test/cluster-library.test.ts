/** `startCluster()` from code: the CLI's `--workers N` without the CLI. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, startAdminServer, startCluster } from '../lib/index.js';
import { loadTestCertificate } from '../fixtures/certificate.js';
import { httpsRequest } from './support/h2.js';
import { request } from './support/http.js';
import { startedUpstream } from './support/servers.js';

test('startCluster() serves through its workers and shows them to an admin server', async (t) => {
  const target = await startedUpstream(t);
  const cluster = await startCluster({ workers: 2, proxy: { targets: [target.url] }, port: 0, drainTimeout: 1_000 });
  t.after(() => cluster.close());
  const admin = await startAdminServer(cluster.observed, { port: 0 });
  t.after(() => admin.close());
  for (let i = 0; i < 4; i++) assert.equal((await request(`http://127.0.0.1:${cluster.port}/`, { timeout: 10_000 })).status, 200);
  const { workers } = (await request(`${admin.url}/workers`)).json() as { workers: Array<{ state: string }> };
  assert.deepEqual(workers.map((w) => w.state), ['listening', 'listening']);
  assert.throws(() => cluster.setCertificate(loadTestCertificate()), /not started with tls/);
});

test('startCluster() with tls serves HTTPS from its workers; setCertificate() refuses a pair Node cannot use', async (t) => {
  const target = await startedUpstream(t);
  const first = loadTestCertificate();
  const cluster = await startCluster({ workers: 2, proxy: { targets: [target.url] }, port: 0, drainTimeout: 1_000, tls: first });
  t.after(() => cluster.close());
  for (let i = 0; i < 2; i++) assert.equal((await httpsRequest(`https://localhost:${cluster.port}/`)).status, 200);
  assert.throws(() => cluster.setCertificate({ cert: first.cert, key: loadTestCertificate('second').key }));
  // The refused pair changed nothing: both workers still serve the first certificate.
  for (let i = 0; i < 2; i++) assert.equal((await httpsRequest(`https://localhost:${cluster.port}/`)).status, 200);
});

test('startCluster() rejects invalid proxy options before it forks anything', async () => {
  await assert.rejects(startCluster({ workers: 2, proxy: { targets: ['ftp://x'] } }), ConfigError);
  await assert.rejects(startCluster({ workers: 0, proxy: { targets: ['http://127.0.0.1:9'] } }), /workers: expected a positive integer/);
});
