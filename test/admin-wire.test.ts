/**
 * Admin renders from plain data: a snapshot that went through JSON (as it would between the
 * processes of a cluster) gives the same metrics, breakers and dashboard stats as the live proxy,
 * and manual control travels as data too.
 */
import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { EventHub } from '../lib/admin/events.js';
import { RateSampler } from '../lib/admin/rates.js';
import { breakersView, statsView, type BreakersView } from '../lib/admin/views.js';
import { renderMetrics, startAdminServer, type BreakerAction, type ObservedProxy, type Proxy, type ProxySnapshot, type TargetSnapshot } from '../lib/index.js';
import { fetchText, hit, stack, trip, type Stack } from './admin-helpers.js';

/** Traffic that leaves something in every family: successes with latency, failures, an open circuit, rejections. */
async function traffic(s: Stack): Promise<void> {
  await hit(s.proxyUrl, 4);
  await trip(s);
  await hit(s.proxyUrl, 2);
}

const overTheWire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * What a cluster primary would hand admin: snapshots and control results that arrived as JSON,
 * commands sent as `{ action, target }`, and the proxy's forwarded `stateChange` events.
 */
function remote(proxy: Proxy): ObservedProxy {
  const send = (command: { action: BreakerAction; target: string }): TargetSnapshot | undefined => {
    const { action, target } = overTheWire(command);
    const result = proxy.breakers[action](target);
    return result === undefined ? undefined : overTheWire(result);
  };
  return {
    snapshot: () => overTheWire(proxy.snapshot()),
    on: (event, listener) => proxy.on(event, listener),
    off: (event, listener) => proxy.off(event, listener),
    breakers: {
      open: (target) => send({ action: 'open', target }),
      close: (target) => send({ action: 'close', target }),
      reset: (target) => send({ action: 'reset', target }),
    },
  };
}

test('a snapshot survives JSON unchanged', async (t) => {
  const s = await stack(t);
  await traffic(s);
  const snapshot = s.proxy.snapshot();
  assert.deepStrictEqual(overTheWire(snapshot), snapshot);
});

test('metrics, breakers and stats rendered from a snapshot that went through JSON equal those of the live proxy', async (t) => {
  const s = await stack(t);
  let now = 0;
  const sampler = new RateSampler(s.proxy, { clock: () => now });
  const hub = new EventHub(s.proxy, sampler, { stats: () => ({}) });
  hub.attach();
  t.after(() => hub.close());
  sampler.sample();
  await traffic(s);
  now = 1000;
  sampler.sample();

  const live: ProxySnapshot = s.proxy.snapshot();
  const wire = overTheWire(live);
  assert.equal(renderMetrics({ snapshot: () => wire }), renderMetrics(s.proxy));
  const stats = statsView(live, sampler);
  assert.ok(stats.targets[0]!.rates.requestRate > 0 && stats.targets[0]!.latency.count > 0, 'the views have something to compare');
  assert.deepStrictEqual(statsView(wire, sampler), stats);
  const breakers = breakersView(live, sampler, hub);
  assert.ok(breakers.targets[0]!.transitions.length > 0);
  assert.deepStrictEqual(breakersView(wire, sampler, hub), breakers);
});

/** A view without the fields that read the wall clock, which moves between two requests. */
function withoutClock(view: BreakersView): unknown {
  return {
    ...view,
    time: 0,
    targets: view.targets.map((target) => ({ ...target, nextAttemptAt: 0, transitions: target.transitions.map((record) => ({ ...record, time: 0 })) })),
  };
}

async function remoteAdmin(t: TestContext, s: Stack): Promise<string> {
  // A sample interval longer than the test: both admin servers hold exactly their first sample.
  const admin = await startAdminServer(remote(s.proxy), { port: 0, sampleInterval: 3_600_000 });
  t.after(() => admin.close());
  return admin.url;
}

test('an admin server fed only JSON snapshots answers /metrics, /breakers and /readyz as one on the live proxy', async (t) => {
  const s = await stack(t, { sampleInterval: 3_600_000 });
  const wired = await remoteAdmin(t, s);
  await traffic(s);
  for (const path of ['/metrics', '/readyz']) {
    const [live, fromWire] = [await fetchText(`${s.admin.url}${path}`), await fetchText(`${wired}${path}`)];
    assert.deepEqual([fromWire.status, fromWire.text], [live.status, live.text], path);
  }
  const [live, fromWire] = [await fetchText(`${s.admin.url}/breakers`), await fetchText(`${wired}/breakers`)];
  assert.deepEqual(withoutClock(JSON.parse(fromWire.text) as BreakersView), withoutClock(JSON.parse(live.text) as BreakersView));
});

test('manual control sent as data through a remote admin server drives the live breaker', async (t) => {
  const s = await stack(t);
  const wired = await remoteAdmin(t, s);
  const reply = await fetchText(`${wired}/breakers/${s.encoded}/open`, { method: 'POST' });
  assert.equal(reply.status, 200);
  assert.equal((JSON.parse(reply.text) as { state: string }).state, 'OPEN');
  assert.equal(s.proxy.snapshot().targets[0]!.state, 'OPEN');
  assert.equal((await fetchText(`${wired}/breakers/${encodeURIComponent('http://127.0.0.1:1')}/open`, { method: 'POST' })).status, 404);
});
