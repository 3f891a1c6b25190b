/**
 * The short soak (test/soak.ts): 15 s of load on a proxy whose two targets flap through every
 * failure mode, with clients aborting on purpose. The long run is `npm run soak -- --seconds 300`.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSoak } from './soak.js';

test('soak: 15 s of load while both targets flap through ok, 500, slow, hang, reset, reset-mid-body and refuse', { timeout: 60_000 }, async (t) => {
  const report = await runSoak({ seconds: 15, phaseMs: 1_200 });
  t.diagnostic(`\n${report.table}`);
  for (const check of report.checks) {
    await t.test(check.name, () => assert.ok(check.ok, check.detail));
  }
  await t.test('the schedule produced every kind of answer', () => {
    const seen = report.outcomes;
    for (const key of ['upstream 200', 'upstream 500', 'proxy 503 destination_unavailable', 'proxy 504 http_response_timeout', 'client abort before response', 'client abort mid-body']) {
      assert.ok((seen[key] ?? 0) > 0, `no "${key}" in ${JSON.stringify(seen)}`);
    }
    assert.ok(Object.keys(seen).some((key) => key.startsWith('proxy 502 ')), `no proxy 502 in ${JSON.stringify(seen)}`);
  });
});
