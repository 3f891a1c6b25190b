/** `--workers 2 --health-path`: the primary checks each target once for the cluster; the workers follow its verdicts. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { upstream } from './cli-helpers.js';
import { get, startCluster, type ClusterCli } from './cluster-helpers.js';

type Breakers = { targets: Array<{ target: string; health: { status: string } | null }> };

function healthOf(cli: ClusterCli, origin: string): Promise<string | undefined> {
  return cli.adminJson<Breakers>('/breakers').then((b) => b.targets.find((target) => target.target === origin)?.health?.status);
}

test('health checks are sent once for the cluster, not once per process', async (t) => {
  const target = await upstream(t);
  const interval = 200;
  const cli = await startCluster(t, ['--target', target.url, '--health-path', '/health', '--health-interval', String(interval)]);
  await cli.until('the target to be healthy', async () => (await healthOf(cli, target.url)) === 'healthy');
  const before = target.stats().byPath['/health'] ?? 0;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const checks = (target.stats().byPath['/health'] ?? 0) - before;
  // One checker sends at most one check per 0.95 interval (its jitter), plus one in flight; three
  // (the primary and two workers) would send about three times that.
  const bound = Math.floor((performance.now() - started) / (interval * 0.95)) + 1;
  assert.ok(checks >= 1 && checks <= bound, `${checks} checks, at most ${bound} expected from one checker`);
  assert.equal((await get(cli.url)).status, 200);
});

test('an unhealthy verdict takes the target out of rotation in both workers; health changes are logged once', async (t) => {
  const [sick, well] = [await upstream(t, { mode: { type: 'status', status: 500 } }), await upstream(t)];
  const cli = await startCluster(t, ['--target', sick.url, '--target', well.url, '--health-path', '/health', '--health-interval', '100', '--unhealthy-after', '1']);
  await cli.until('the verdicts', async () => (await healthOf(cli, sick.url)) === 'unhealthy' && (await healthOf(cli, well.url)) === 'healthy');
  const clientRequests = (): number => sick.stats().requests - (sick.stats().byPath['/health'] ?? 0);
  const sent = clientRequests();
  const statuses = [];
  for (let i = 0; i < 8; i++) statuses.push((await get(cli.url)).status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200]);
  assert.equal(clientRequests(), sent, 'no client request went to the unhealthy target');
  await cli.until('both workers to have served', async () => (await cli.workers()).workers.every((w) => w.requests > 0));
  assert.equal(cli.stderr.match(new RegExp(`health ${sick.url} unknown -> unhealthy`, "g"))?.length, 1, `stderr: ${cli.stderr} stdout: ${cli.stdout}`);
});

test('a worker that replaces one serves at once on the verdicts already made, without waiting for checks', async (t) => {
  const target = await upstream(t);
  // A long interval: a first check of its own could come up to 2 s after a worker starts.
  const cli = await startCluster(t, ['--target', target.url, '--health-path', '/health', '--health-interval', '20000']);
  await cli.until('the target to be healthy', async () => (await healthOf(cli, target.url)) === 'healthy');
  const [victim] = (await cli.workers()).workers;
  process.kill(victim!.pid, 'SIGKILL');
  await cli.until('a replacement worker', async () => {
    const replaced = (await cli.workers()).workers.find((w) => w.slot === victim!.slot);
    return replaced !== undefined && replaced.pid !== victim!.pid && replaced.state === 'listening';
  });
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await get(cli.url)).status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
  await cli.until('the replacement to have served', async () => (await cli.workers()).workers.every((w) => w.requests > 0));
});
