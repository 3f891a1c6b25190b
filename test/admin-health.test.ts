/** Active health checks as the admin server shows them: beside the breaker in /breakers, and in /readyz. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BreakersView } from '../lib/admin/index.js';
import { fetchText, stack } from './admin-helpers.js';
import { waitFor } from './support/wait.js';

test('GET /breakers shows a checked target\'s health beside its circuit state', async (t) => {
  const s = await stack(t, { proxy: { healthPath: '/health', healthInterval: 20 } });
  await waitFor('a passing check', () => s.proxy.snapshot().targets[0]!.health?.status === 'healthy');
  const view = (await fetchText(`${s.admin.url}/breakers`)).json() as BreakersView;
  const target = view.targets[0]!;
  assert.equal(target.state, 'CLOSED');
  assert.equal(target.health?.status, 'healthy');
  assert.equal(target.health?.inRotation, true);
  assert.equal(target.health?.lastResult, 'pass');
});

test('GET /readyz answers 503 while health checks keep the only target out of rotation', async (t) => {
  const s = await stack(t, { proxy: { healthPath: '/health', healthInterval: 20, unhealthyAfter: 1 } });
  await waitFor('a passing check', () => s.proxy.snapshot().targets[0]!.health?.status === 'healthy');
  assert.equal((await fetchText(`${s.admin.url}/readyz`)).status, 200);
  await s.upstream.setMode({ type: 'status', status: 503 });
  await waitFor('a failed check', () => s.proxy.snapshot().targets[0]!.health?.status === 'unhealthy');
  const down = await fetchText(`${s.admin.url}/readyz`);
  assert.equal(down.status, 503);
  assert.deepEqual(down.json(), { status: 'unavailable', ready: false, admitting: 0, targets: 1 });
});
