/** `--workers 2`: a worker killed, a drain, a reload: the cluster keeps serving and keeps its breakers. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFile, upstream, writeConfig } from './cli-helpers.js';
import { control, get, startCluster } from './cluster-helpers.js';

type Breakers = { targets: Array<{ target: string; state: string }> };

/** Whether no process has this pid any more (signal 0 only checks). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Sends requests one after another until `stop()`, recording each status (0: no answer). */
function load(url: string): { statuses: number[]; stop(): Promise<void> } {
  const statuses: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) statuses.push(await get(url).then((reply) => reply.status, () => 0));
  })();
  return {
    statuses,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

test('a worker killed with SIGKILL under load is replaced, the other keeps serving, and an open circuit stays open', async (t) => {
  const [served, held] = [await upstream(t), await upstream(t)];
  const cli = await startCluster(t, ['--route', `/a=${served.url}`, '--route', `/b=${held.url}`]);
  assert.equal((await control(cli, held.url, 'open')).status, 200);
  const traffic = load(`${cli.url}/a`);
  await cli.until('some traffic', async () => traffic.statuses.length >= 10);
  const [victim] = (await cli.workers()).workers;
  process.kill(victim!.pid, 'SIGKILL');
  await cli.until('a replacement worker', async () => {
    const replaced = (await cli.workers()).workers.find((w) => w.slot === victim!.slot);
    return replaced !== undefined && replaced.pid !== victim!.pid && replaced.state === 'listening';
  });
  await traffic.stop();
  // At most the request in flight on the killed worker failed; the other worker answered the
  // rest, before and while the replacement started.
  assert.ok(traffic.statuses.filter((status) => status !== 200).length <= 1, `statuses: ${traffic.statuses.join(' ')}`);
  const statuses = await Promise.all(Array.from({ length: 6 }, () => get(`${cli.url}/b`).then((reply) => reply.status)));
  assert.deepEqual(statuses, [503, 503, 503, 503, 503, 503]);
  assert.equal(held.stats().requests, 0);
  assert.equal((await cli.adminJson<Breakers>('/breakers')).targets.find((target) => target.target === held.url)?.state, 'OPEN');
  assert.equal((await cli.workers()).workers.find((w) => w.slot === victim!.slot)?.restarts, 1);
});

test('SIGTERM under load lets every request in flight finish and exits 0', async (t) => {
  const target = await upstream(t, { mode: { type: 'slow', delay: 1_000 } });
  const cli = await startCluster(t, ['--target', target.url]);
  const replies = Array.from({ length: 10 }, () => get(cli.url, 15_000).then((reply) => reply.status, () => 0));
  await cli.until('10 requests at the target', async () => target.stats().inFlight === 10);
  cli.signal('SIGTERM');
  assert.deepEqual(await Promise.all(replies), Array(10).fill(200));
  assert.deepEqual(await cli.exited, { code: 0, signal: null });
  await assert.rejects(get(cli.url, 2_000));
});

test('SIGHUP switches a route in both workers without a failed request', async (t) => {
  const [before, after] = [await upstream(t), await upstream(t)];
  const file = configFile(t, { routes: [{ match: '/', targets: before.url }] });
  const cli = await startCluster(t, ['--config', file]);
  const traffic = load(cli.url);
  await cli.until('some traffic', async () => traffic.statuses.length >= 10);
  writeConfig(file, { routes: [{ match: '/', targets: after.url }] });
  cli.signal('SIGHUP');
  await cli.waitFor('stderr', /reloaded/);
  const sentBefore = before.stats().requests;
  const reloadedAt = traffic.statuses.length;
  await cli.until('traffic after the reload', async () => traffic.statuses.length >= reloadedAt + 10);
  await traffic.stop();
  assert.deepEqual(new Set(traffic.statuses), new Set([200]));
  // Requests in flight at the reload finished on the old route; every later one took the new one.
  assert.ok(before.stats().requests - sentBefore <= 1);
  assert.ok(after.stats().requests >= 9);
  // Both workers took the new route (a worker counts the targets of the routes in force).
  await cli.until('both workers to count requests to the new target', async () => (await cli.workers()).workers.every((w) => w.requests > 0));
});

test('a worker that stops answering the primary is killed and replaced', async (t) => {
  const target = await upstream(t);
  const cli = await startCluster(t, ['--target', target.url]);
  const [frozen] = (await cli.workers()).workers;
  process.kill(frozen!.pid, 'SIGSTOP');
  await cli.waitFor('stderr', /worker 1 \(pid \d+\) stopped answering/);
  await cli.until('a replacement worker', async () => {
    const replaced = (await cli.workers()).workers.find((w) => w.slot === frozen!.slot);
    return replaced !== undefined && replaced.pid !== frozen!.pid && replaced.state === 'listening';
  });
  assert.throws(() => process.kill(frozen!.pid, 0), { code: 'ESRCH' });
});

test('the workers exit when the primary dies', async (t) => {
  const target = await upstream(t);
  const cli = await startCluster(t, ['--target', target.url]);
  const pids = (await cli.workers()).workers.map((w) => w.pid);
  cli.signal('SIGKILL');
  await cli.exited;
  await cli.until('the workers to exit', async () => pids.every(gone));
});

test('a second SIGTERM exits at once, workers included, without waiting for requests in flight', async (t) => {
  const target = await upstream(t, { mode: 'hang' });
  const cli = await startCluster(t, ['--target', target.url]);
  const pids = (await cli.workers()).workers.map((w) => w.pid);
  const hanging = get(cli.url, 30_000).catch(() => 0);
  await cli.until('the request at the target', async () => target.stats().inFlight === 1);
  cli.signal('SIGTERM');
  await cli.waitFor('stderr', /SIGTERM again exits now/);
  cli.signal('SIGTERM');
  assert.deepEqual(await cli.exited, { code: 1, signal: null });
  await hanging;
  await cli.until('the workers to exit', async () => pids.every(gone));
});
