/** The health-check and slow-call flags map onto their options, and bad values name the flag. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCliArgs } from '../lib/cli/args.js';
import { CliError } from '../lib/cli/cli-error.js';

const T = 'http://127.0.0.1:3000';

test('--health-path, --health-interval, --healthy-after and --unhealthy-after map onto the health options', () => {
  const args = parseCliArgs(['-t', T, '--health-path', '/healthz', '--health-interval', '2000', '--healthy-after', '3', '--unhealthy-after', '4']);
  assert.deepEqual(args.proxy, { targets: [T], healthPath: '/healthz', healthInterval: 2000, healthyAfter: 3, unhealthyAfter: 4 });
});

test('--slow-call and --slow-call-rate map onto the breaker options', () => {
  const args = parseCliArgs(['-t', T, '--slow-call', '250', '--slow-call-rate', '50']);
  assert.deepEqual(args.proxy, { targets: [T], breaker: { slowCallDuration: 250, slowCallRate: 50 } });
});

test('a bad --healthy-after or --slow-call-rate is a usage error naming the flag', () => {
  for (const [flag, value] of [['--healthy-after', '0'], ['--slow-call-rate', '150'], ['--health-path', 'health']]) {
    assert.throws(() => parseCliArgs(['-t', T, flag!, value!]), (error: unknown) => error instanceof CliError && error.exitCode === 2 && error.message.startsWith(flag!));
  }
});
