/** `--workers 2`: one breaker per target for the whole cluster, decided in the primary. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { upstream } from './cli-helpers.js';
import { control, get, startCluster } from './cluster-helpers.js';

test('failures spread over two workers open the circuit at failureThreshold, once for both', async (t) => {
  const target = await upstream(t, { mode: { type: 'status', status: 500 } });
  const cli = await startCluster(t, ['--target', target.url, '--failure-threshold', '5', '--reset-timeout', '60000']);
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await get(cli.url)).status);
  assert.deepEqual(statuses, [500, 500, 500, 500, 500, 503, 503, 503, 503, 503, 503, 503]);
  assert.equal(target.stats().requests, 5);
  // Fresh connections are handed to the workers in turn: both saw the failures and the 503s.
  await cli.until('both workers to report', async () => {
    const { workers } = await cli.workers();
    return workers.every((w) => w.requests > 0) && workers.reduce((sum, w) => sum + w.requests, 0) === 12;
  });
  assert.equal(cli.stderr.match(/CLOSED -> OPEN/g)?.length, 1);
});

test('a half-open period lets exactly one probe through under concurrent load on both workers', async (t) => {
  const target = await upstream(t, { mode: { type: 'status', status: 500 } });
  const cli = await startCluster(t, ['--target', target.url, '--failure-threshold', '2', '--reset-timeout', '500', '--timeout', '60000']);
  for (let i = 0; i < 2; i++) assert.equal((await get(cli.url)).status, 500);
  // The probe hangs, so every other request of the period meets a circuit that is still HALF_OPEN.
  await target.setMode('hang');
  await cli.waitFor('stderr', /OPEN -> HALF_OPEN/);
  const before = target.stats().requests;
  // Whichever request reaches the worker holding the probe slot first is the probe; it hangs
  // (and keeps its slot: a probe given up by its client frees the slot for another), the others
  // are refused. Waves of 10 concurrent requests until the probe went out, then one more wave.
  let sent = 0;
  const statuses: number[] = [];
  const wave = async (): Promise<void> => {
    for (let i = 0; i < 10; i++, sent++) void get(cli.url, 60_000).then((reply) => statuses.push(reply.status), () => statuses.push(0));
    const probing = (): boolean => target.stats().requests > before;
    await cli.until('the wave to be answered', async () => statuses.length >= sent - (probing() ? 1 : 0));
  };
  for (let i = 0; i < 20 && target.stats().requests === before; i++) await wave();
  await wave();
  assert.equal(target.stats().requests - before, 1);
  assert.equal(statuses.length, sent - 1);
  assert.deepEqual(new Set(statuses), new Set([503]));
});

test('a circuit opened and closed through the admin API is opened and closed in both workers', async (t) => {
  const target = await upstream(t);
  const cli = await startCluster(t, ['--target', target.url]);
  assert.equal((await control(cli, target.url, 'open')).status, 200);
  const open = await Promise.all(Array.from({ length: 6 }, () => get(cli.url).then((reply) => reply.status)));
  assert.deepEqual(open, [503, 503, 503, 503, 503, 503]);
  assert.equal(target.stats().requests, 0);
  assert.equal((await control(cli, target.url, 'close')).status, 200);
  const closed: number[] = [];
  for (let i = 0; i < 6; i++) closed.push((await get(cli.url)).status);
  assert.deepEqual(closed, [200, 200, 200, 200, 200, 200]);
  // Both workers served: the refusals and the successes were not one worker's.
  await cli.until('both workers to report', async () => {
    const { workers } = await cli.workers();
    return workers.every((w) => w.requests > 0) && workers.reduce((sum, w) => sum + w.requests, 0) === 12;
  });
});
