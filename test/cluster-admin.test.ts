/** `--workers 2`: the primary's one admin server shows the whole cluster. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from './support/http.js';
import { upstream } from './cli-helpers.js';
import { control, get, requestsTotal, startCluster } from './cluster-helpers.js';

test('proxy_breaker_requests_total summed over the workers equals the requests the client sent', async (t) => {
  const target = await upstream(t);
  const cli = await startCluster(t, ['--target', target.url]);
  for (let i = 0; i < 30; i++) assert.equal((await get(cli.url)).status, 200);
  await cli.until('the metrics to count 30 requests', async () => requestsTotal((await request(`${cli.admin}/metrics`)).text) === 30);
  const { workers } = await cli.workers();
  assert.deepEqual(workers.map((w) => w.requests > 0), [true, true]);
});

test("a manual reset clears the breaker's counts in every worker, as in one process", async (t) => {
  const target = await upstream(t);
  const cli = await startCluster(t, ['--target', target.url]);
  type View = { counts: { admitted: number; successes: number } };
  const view = (): Promise<View> => cli.adminJson<View>(`/breakers/${encodeURIComponent(target.url)}`);
  for (let i = 0; i < 6; i++) assert.equal((await get(cli.url)).status, 200);
  await cli.until('6 admissions summed', async () => (await view()).counts.admitted === 6);
  const reset = (await control(cli, target.url, 'reset')).json() as View;
  assert.deepEqual([reset.counts.admitted, reset.counts.successes], [0, 0]);
  // Two more, one per worker: once both snapshots came in, the sum is 2, not 6 + 2.
  for (let i = 0; i < 2; i++) assert.equal((await get(cli.url)).status, 200);
  await cli.until('the new admissions summed', async () => (await view()).counts.admitted >= 2);
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  assert.equal((await view()).counts.admitted, 2);
});

test('GET /workers lists each worker with its pid, state and restarts', async (t) => {
  const target = await upstream(t);
  const cli = await startCluster(t, ['--target', target.url]);
  const { workers } = await cli.workers();
  assert.deepEqual(
    workers.map(({ slot, state, restarts }) => ({ slot, state, restarts })),
    [
      { slot: 1, state: 'listening', restarts: 0 },
      { slot: 2, state: 'listening', restarts: 0 },
    ],
  );
  assert.equal(new Set(workers.map((w) => w.pid)).size, 2);
});

test('a state change is logged once, by the primary, not once per worker', async (t) => {
  const target = await upstream(t, { mode: { type: 'status', status: 500 } });
  const cli = await startCluster(t, ['--target', target.url, '--failure-threshold', '2', '--reset-timeout', '60000']);
  for (let i = 0; i < 4; i++) await get(cli.url);
  await cli.waitFor('stderr', /CLOSED -> OPEN/);
  await cli.until('both workers to report', async () => {
    const { workers } = await cli.workers();
    return workers.every((w) => w.requests > 0) && workers.reduce((sum, w) => sum + w.requests, 0) === 4;
  });
  assert.equal(cli.stderr.match(/CLOSED -> OPEN/g)?.length, 1);
});

test('the access log of both workers comes out as whole JSON lines', async (t) => {
  const target = await upstream(t);
  const cli = await startCluster(t, ['--target', target.url, '--access-log']);
  await Promise.all(Array.from({ length: 40 }, (_, i) => get(`${cli.url}/${'x'.repeat(200)}/${i}`)));
  const lines = (): string[] => cli.stdout.split('\n').filter((line) => line.startsWith('{'));
  await cli.until('40 access lines', async () => lines().length >= 40);
  assert.equal(lines().length, 40);
  assert.deepEqual(new Set(lines().map((line) => (JSON.parse(line) as { status: number }).status)), new Set([200]));
});
