import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { get, startCli } from './cli-helpers.js';

test('--demo walks the circuit to OPEN and back to CLOSED, then keeps serving', { timeout: 30_000 }, async (t) => {
  const cli = startCli(t, ['--demo', '--port', '0']);
  await cli.waitFor('stdout', /the circuit is CLOSED again/, 25_000);
  const out = cli.stdout;
  assert.match(out, /CLOSED -> OPEN \(3 failures; last: answered 500\)/);
  assert.match(out, /503 Service Unavailable in \d+ ms {2}Retry-After: \d/);
  assert.match(out, /the upstream received 0 of these requests/);
  assert.match(out, /HALF_OPEN -> CLOSED/);
  const [, control] = (await cli.waitFor('stdout', /curl -X POST (http:\/\/127\.0\.0\.1:\d+)\/__demo\/fail\?status=500/))!;
  const url = await cli.url();
  assert.ok(control);
  assert.equal((await get(`${url}/hello`)).status, 200);
  cli.signal('SIGTERM');
  assert.equal((await cli.exit()).code, 0);
});
