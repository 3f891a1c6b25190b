/**
 * The options of balancing and retries on status: `balance`, `retryOn` and target weights, from
 * code, a config file and the command line, and the Retry-After values a target may send.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCliArgs } from '../lib/cli/args.js';
import { CliError } from '../lib/cli/cli-error.js';
import { parseConfigText } from '../lib/cli/config-file.js';
import { resolveCliConfig } from '../lib/cli/config.js';
import { routingTable } from '../lib/cli/table.js';
import { resolveProxyOptions, type ProxyOptions } from '../lib/proxy/options.js';
import { httpDate, MAX_RETRY_AFTER_MS, retryAfterMs } from '../lib/proxy/retry-after.js';
import { configFile } from './cli-helpers.js';
import { assertConfigError } from './routes-helpers.js';

const A = 'http://127.0.0.1:3001';
const B = 'http://127.0.0.1:3002';

const resolve = (options: unknown) => () => resolveProxyOptions(options as ProxyOptions);

test('a route takes targets as { url, weight } objects beside strings; the weight defaults to 1', () => {
  const config = resolveProxyOptions({ routes: [{ match: '/', targets: [{ url: A, weight: 3 }, B, { url: new URL('http://127.0.0.1:3003') }] }] });
  const [route] = config.routes;
  assert.deepEqual(route!.targets.map((url) => url.origin), [A, B, 'http://127.0.0.1:3003']);
  assert.deepEqual(route!.weights, [3, 1, 1]);
});

test('the `targets` shorthand takes weights too', () => {
  assert.deepEqual(resolveProxyOptions({ targets: [{ url: A, weight: 2 }, B] }).routes[0]!.weights, [2, 1]);
});

test('a weight must be a positive integer, named by its path', () => {
  for (const weight of [0, -1, 1.5, '2', 1001]) {
    assertConfigError(resolve({ routes: [{ match: '/', targets: [B, { url: A, weight }] }] }), 'routes[0].targets[1].weight', /expected an integer from 1 to 1000/);
  }
});

test('a weighted target entry names its url and refuses unknown keys', () => {
  assertConfigError(resolve({ routes: [{ match: '/', targets: [{ url: 'ftp://x' }] }] }), 'routes[0].targets[0].url', /not an http\(s\) URL/);
  assertConfigError(resolve({ routes: [{ match: '/', targets: [{ weight: 2 }] }] }), 'routes[0].targets[0].url', /expected a URL string/);
  assertConfigError(resolve({ routes: [{ match: '/', targets: [{ url: A, wieght: 2 }] }] }), 'routes[0].targets[0].wieght', /unknown option \(known: url, weight\)/);
});

test('the same origin twice is refused whether written as a string or an object', () => {
  assertConfigError(resolve({ routes: [{ match: '/', targets: [A, { url: A, weight: 2 }] }] }), 'routes[0].targets[1]', /listed twice/);
});

test('balance is round-robin by default, least-request on request, and per route over the top level', () => {
  const config = resolveProxyOptions({ balance: 'least-request', routes: [{ match: '/a', targets: A }, { match: '/b', targets: B, balance: 'round-robin' }] });
  assert.deepEqual(config.routes.map((route) => route.balance), ['least-request', 'round-robin']);
  assert.equal(resolveProxyOptions({ target: A }).routes[0]!.balance, 'round-robin');
  assertConfigError(resolve({ target: A, balance: 'random' }), 'balance', /expected "round-robin" or "least-request", got "random"/);
  assertConfigError(resolve({ routes: [{ match: '/', targets: A, balance: 1 }] }), 'routes[0].balance', /expected "round-robin" or "least-request"/);
});

test('retryOn is off by default, a status list when set, and per route over the top level', () => {
  const config = resolveProxyOptions({ retryOn: '502-504', routes: [{ match: '/a', targets: A }, { match: '/b', targets: B, retryOn: [503] }] });
  const [a, b] = config.routes;
  assert.equal(a!.retryOn!.text, '502-504');
  assert.equal(a!.retryOn!.has(503), true);
  assert.equal(b!.retryOn!.has(502), false);
  assert.equal(resolveProxyOptions({ target: A }).routes[0]!.retryOn, undefined);
});

test('retryOn takes error statuses only', () => {
  assertConfigError(resolve({ target: A, retryOn: '200,503' }), 'retryOn', /200 in "200,503" is not an error status/);
  assertConfigError(resolve({ target: A, retryOn: 'soon' }), 'retryOn', /is not a status/);
  assertConfigError(resolve({ routes: [{ match: '/', targets: A, retryOn: [302] }] }), 'routes[0].retryOn', /302/);
});

test('--balance and --retry-on map onto their options, and name themselves in errors', () => {
  const args = parseCliArgs(['-t', A, '--balance', 'least-request', '--retry-on', '502,503,504']);
  assert.equal(args.proxy.balance, 'least-request');
  assert.equal(args.proxy.retryOn, '502,503,504');
  assert.throws(() => parseCliArgs(['-t', A, '--balance', 'fastest']), (error) => error instanceof CliError && /^--balance: expected "round-robin" or "least-request"/.test(error.message));
  assert.throws(() => parseCliArgs(['-t', A, '--retry-on', '200']), (error) => error instanceof CliError && /^--retry-on: 200/.test(error.message));
});

test('a config file sets balance, retryOn and weights per route', () => {
  const file = parseConfigText(
    JSON.stringify({ balance: 'least-request', routes: [{ match: '/', targets: [{ url: A, weight: 3 }, B], retryOn: '503' }] }),
    'p.json',
  );
  const [route] = resolveProxyOptions(file.proxy).routes;
  assert.equal(route!.balance, 'least-request');
  assert.deepEqual(route!.weights, [3, 1]);
  assert.equal(route!.retryOn!.text, '503');
});

// --- Retry-After (RFC 9110 10.2.3) ---

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);

test('Retry-After as delta-seconds is read in ms, capped at an hour', () => {
  assert.equal(retryAfterMs('120', NOW), 120_000);
  assert.equal(retryAfterMs(' 0 ', NOW), 0);
  assert.equal(retryAfterMs('86400', NOW), MAX_RETRY_AFTER_MS);
  assert.equal(retryAfterMs('9'.repeat(400), NOW), MAX_RETRY_AFTER_MS);
});

test('Retry-After as an HTTP-date is read in each of its three forms, relative to now', () => {
  assert.equal(retryAfterMs('Sun, 06 Dec 2026 12:00:30 GMT', NOW), 30_000);
  assert.equal(retryAfterMs('Sunday, 06-Dec-26 12:01:00 GMT', NOW), 60_000);
  assert.equal(retryAfterMs('Sun Dec  6 12:00:05 2026', NOW), 5_000);
  assert.equal(retryAfterMs('Sun, 06 Dec 2026 11:00:00 GMT', NOW), 0, 'a date in the past is no pause');
  assert.equal(retryAfterMs('Tue, 06 Dec 2027 12:00:00 GMT', NOW), MAX_RETRY_AFTER_MS);
});

test('an RFC 850 two-digit year more than 50 years ahead is read in the past century', () => {
  assert.equal(httpDate('Monday, 06-Dec-77 00:00:00 GMT', NOW), Date.UTC(1977, 11, 6));
  assert.equal(httpDate('Monday, 06-Dec-50 00:00:00 GMT', NOW), Date.UTC(2050, 11, 6));
});

test('anything else is not a Retry-After', () => {
  for (const value of ['', '-5', '1.5', 'soon', '2026-12-06T12:00:00Z', 'Sun, 06 Dec 2026 12:00:30 UTC', 'Sun, 32 Dec 2026 12:00:30 GMT', 'Sun, 06 Dec 2026 25:00:00 GMT']) {
    assert.equal(retryAfterMs(value, NOW), undefined, value);
  }
});

test('--check shows weights, a strategy other than round-robin and the statuses retried', (t) => {
  const file = configFile(t, { routes: [{ match: '/', targets: [{ url: A, weight: 3 }, B], balance: 'least-request', retryOn: '502-504' }] });
  const table = routingTable(resolveCliConfig(parseCliArgs(['--config', file, '--check'])));
  assert.match(table, new RegExp(`^/ +least-request: ${A} \\(weight 3\\), ${B} +no +10000 ms +500-599 +1, also on 502-504 +open after`, 'm'));
});
