import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { get, startCli, upstream } from './cli-helpers.js';

test('with --log-format json every stderr line is JSON, and tripping the breaker logs a stateChange', async (t) => {
  const up = await upstream(t, { mode: { type: 'status', status: 500 } });
  const cli = startCli(t, ['-t', up.url, '-p', '0', '--log-format', 'json', '--failure-threshold', '2', '--insecure']);
  const url = await cli.url();
  assert.equal((await get(url)).status, 500);
  assert.equal((await get(url)).status, 500);
  assert.equal((await get(url)).status, 503);
  await cli.waitFor('stderr', /"event":"stateChange"/);
  cli.signal('SIGTERM');
  assert.equal((await cli.exit()).code, 0);

  const lines = cli.stderrLines().map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const line of lines) assert.equal(typeof line.time, 'string');
  const change = lines.find((line) => line.event === 'stateChange');
  assert.deepEqual({ ...change, time: undefined }, {
    time: undefined, level: 'warn', event: 'stateChange', target: up.url, from: 'CLOSED', to: 'OPEN', failures: 2, reason: 'answered 500',
  });
  assert.deepEqual(lines.map((line) => line.event), ['insecure', 'stateChange', 'shutdown', 'stopped']);
});
