/** The command line parsed in-process: flags onto `ProxyOptions`, and the errors that name them. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { flagForPath, parseCliArgs, parseNumber } from '../lib/cli/args.js';
import { CliError } from '../lib/cli/cli-error.js';

const T = 'http://127.0.0.1:3000';

function usageError(argv: string[]): string {
  try {
    parseCliArgs(argv);
  } catch (error) {
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, 2);
    return error.message;
  }
  assert.fail(`expected ${argv.join(' ')} to be refused`);
}

test('every flag maps onto its ProxyOptions key', () => {
  const args = parseCliArgs([
    '-t', T, '--target', 'https://127.0.0.1:3001', '-p', '0', '-H', '::1',
    '--failure-threshold', '3', '--timeout', '1500', '--idle-timeout', '30000', '--reset-timeout', '2000', '--reset-timeout-max', '60000',
    '--half-open-requests', '2', '--failure-status', '502-504,500', '--failure-rate', '50', '--window', '5000',
    '--min-requests', '20', '--retries', '2', '--max-concurrent', '100', '--slow-start', '10000',
    '--probe-path', '/health', '--preserve-host', '--insecure', '--log-format', 'json',
  ]);
  assert.deepEqual(args.proxy, {
    targets: [T, 'https://127.0.0.1:3001'],
    breaker: { failureThreshold: 3, resetTimeout: 2000, resetTimeoutMax: 60000, halfOpenMaxCalls: 2, failureRate: 50, window: 5000, minRequests: 20 },
    timeout: 1500,
    idleTimeout: 30000,
    failureStatus: '502-504,500',
    retries: 2,
    maxConcurrent: 100,
    slowStart: 10000,
    probePath: '/health',
    preserveHost: true,
    insecure: true,
  });
  assert.deepEqual(args.listen, { port: 0, host: '::1' });
  assert.equal(args.logFormat, 'json');
});

test('flags not given leave their options unset, for the defaults or the config file', () => {
  const args = parseCliArgs(['-t', T]);
  assert.deepEqual(args.proxy, { targets: [T] });
  assert.deepEqual(args.listen, {});
  assert.equal(args.logFormat, undefined);
});

test('--route takes MATCH=URL[,URL] and --strip-prefix applies to every route', () => {
  const args = parseCliArgs(['--route', `/api/users=${T}, http://127.0.0.1:3001`, '--route', `users.example.com/v2=${T}`, '--strip-prefix']);
  assert.deepEqual(args.proxy.routes, [
    { match: '/api/users', targets: [T, 'http://127.0.0.1:3001'], stripPrefix: true },
    { match: 'users.example.com/v2', targets: [T], stripPrefix: true },
  ]);
});

test('a malformed --route names the flag and the value', () => {
  assert.match(usageError(['--route', '=http://a']), /^--route: expected MATCH=URL\[,URL\.\.\.\] like .*, got "=http:\/\/a"$/);
  assert.match(usageError(['--route', '/api=']), /^--route: expected MATCH=URL/);
  assert.match(usageError(['--route', '/api=http://a,']), /^--route: expected MATCH=URL/);
  assert.match(usageError(['--route', '/api=http://a/path']), /^--route: "http:\/\/a\/path" must be an origin/);
  assert.match(usageError(['--route', 'bad_host!=http://a']), /^--route: "bad_host!" is not a host name$/);
});

test('numbers must be plain decimals within the flag\'s range', () => {
  for (const text of ['', ' ', '0x10', '1e3', 'Infinity', '1.', '-']) {
    assert.throws(() => parseNumber(text, '--window', { min: 0, exclusive: true }), /^CliError: --window: expected a number > 0/);
  }
  assert.equal(parseNumber('2.5', '--window', { min: 0, exclusive: true }), 2.5);
  assert.throws(() => parseNumber('0', '--window', { min: 0, exclusive: true }), /expected a number > 0, got "0"/);
  assert.throws(() => parseNumber('100.5', '--failure-rate', { min: 0, max: 100, exclusive: true }), /expected a number > 0 and <= 100/);
  assert.throws(() => parseNumber('2.5', '--retries', { min: 0, integer: true }), /expected an integer >= 0/);
});

test('negative values reach the value check instead of parseArgs\' "ambiguous" error', () => {
  assert.equal(usageError(['-t', T, '--timeout', '-5']), '--timeout: expected a number > 0, got "-5"');
  assert.equal(usageError(['-t', T, '-p', '-1']), '--port: expected an integer from 0 to 65535, got "-1"');
  assert.equal(usageError(['-t', T, '--timeout', '--', '5']), '--timeout: expected a value (write --timeout=VALUE if it starts with a dash)');
});

test('each bad value names its flag', () => {
  assert.equal(usageError(['-t', T, '--log-format', 'xml']), '--log-format: expected "text" or "json", got "xml"');
  assert.equal(usageError(['-t', T, '--probe-path', 'health']), '--probe-path: expected a path like /health, got "health"');
  assert.match(usageError(['-t', T, '--failure-status', '600']), /^--failure-status: /);
  assert.match(usageError(['-t', T, '--host', 'a b']), /^--host: expected an address/);
  assert.equal(usageError(['--config', '']), '--config: expected a file name, got ""');
  assert.equal(usageError(['-t', T, '-x']), '-x: unknown option');
  assert.equal(usageError(['stray']), 'unexpected argument "stray"');
});

test('combinations that cannot work are refused', () => {
  assert.equal(usageError(['--demo', '--config', 'x.json']), '--demo: runs its own upstream; drop --config');
  assert.equal(usageError(['--demo', '--route', `/=${T}`]), '--demo: runs its own upstream; drop --route');
  assert.equal(usageError(['--config', 'x.json', '--route', `/=${T}`]), '--route: cannot be combined with --config; put the targets in the file\'s "routes"');
  assert.equal(usageError(['--config', 'x.json', '--strip-prefix']), '--strip-prefix: applies to --route only (in a config file, set "stripPrefix" per route)');
});

test('--help and --version need nothing else', () => {
  assert.equal(parseCliArgs(['--help']).help, true);
  assert.equal(parseCliArgs(['-v']).version, true);
  assert.equal(parseCliArgs(['--demo']).demo, true);
});

test('flagForPath blames the flag that set a failing option, and nothing else', () => {
  const args = parseCliArgs(['--route', `/=${T}`, '--timeout', '5', '--reset-timeout-max', '10']);
  assert.equal(flagForPath(args, 'timeout'), '--timeout');
  assert.equal(flagForPath(args, 'routes[0].targets[1]'), '--route');
  assert.equal(flagForPath(args, 'routes[0].breaker.resetTimeoutMax'), '--reset-timeout-max');
  assert.equal(flagForPath(args, 'breaker.resetTimeout'), undefined);
  assert.equal(flagForPath(args, 'retries'), undefined);
  assert.equal(flagForPath(args, ''), undefined);
});
