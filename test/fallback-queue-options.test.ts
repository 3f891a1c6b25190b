/**
 * The `fallback`, `queue` and `queueTimeout` options are checked once, where they were written:
 * a bad value is a ConfigError naming its path, at `createProxy()`, in the config file or on the
 * command line.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveProxyOptions, type ProxyOptions } from '../lib/proxy/options.js';
import { runCli } from './cli-helpers.js';
import { assertConfigError } from './routes-helpers.js';

const A = 'http://127.0.0.1:3001';
const B = 'http://127.0.0.1:3002';
const resolve = (options: unknown) => () => resolveProxyOptions(options as ProxyOptions);

test('a fallback status outside 200-599 is refused', () => {
  assertConfigError(resolve({ target: A, fallback: { status: 99 } }), 'fallback.status', /expected an integer from 200 to 599, got 99/);
});

test('a fallback header with CR or LF in its value is refused', () => {
  assertConfigError(resolve({ target: A, fallback: { headers: { 'X-A': 'a\r\nSet-Cookie: x=1' } } }), 'fallback.headers.X-A', /no CR, LF or NUL/);
});

test('a fallback header name that is not a token is refused', () => {
  assertConfigError(resolve({ target: A, fallback: { headers: { 'Bad Name': 'x' } } }), 'fallback.headers.Bad Name', /not a valid header field name/);
});

test('fallback headers the proxy writes itself are refused', () => {
  for (const name of ['Content-Length', 'Transfer-Encoding', 'Proxy-Status', 'Retry-After']) {
    assertConfigError(resolve({ target: A, fallback: { headers: { [name]: '1' } } }), `fallback.headers.${name}`, /the proxy writes this field itself/);
  }
});

test('a fallback body over 1 MiB is refused', () => {
  assertConfigError(resolve({ target: A, fallback: { body: 'x'.repeat(1024 * 1024 + 1) } }), 'fallback.body', /at most 1048576 \(1 MiB\)/);
});

test('a fallback gives a body or a file, not both', () => {
  assertConfigError(resolve({ target: A, fallback: { body: 'x', file: '/tmp/x' } }), 'fallback.file', /give `body` or `file`, not both/);
});

test('a fallback is targets or a static answer, not both', () => {
  assertConfigError(resolve({ target: A, fallback: { targets: B, status: 200 } }), 'fallback.status', /either `targets` or a static answer/);
});

test('a fallback file that cannot be read is refused, naming the file', () => {
  assertConfigError(resolve({ target: A, fallback: { file: '/nonexistent/degraded.html' } }), 'fallback.file', /cannot read "\/nonexistent\/degraded.html": no such file \(ENOENT\)/);
});

test('a 204 fallback with a body is refused', () => {
  assertConfigError(resolve({ target: A, fallback: { status: 204, body: 'x' } }), 'fallback.status', /a 204 answer has no body/);
});

test('a fallback target that is a target of the route itself is refused', () => {
  assertConfigError(resolve({ targets: [A, B], fallback: { targets: [B] } }), 'fallback.targets', /http:\/\/127.0.0.1:3002 is a target of the route itself/);
});

test('an unknown key in a fallback is refused', () => {
  assertConfigError(resolve({ target: A, fallback: { stauts: 200 } }), 'fallback.stauts', /unknown option/);
});

test('a route fallback is checked at the route', () => {
  assertConfigError(resolve({ routes: [{ match: '/', targets: A, fallback: { status: 700 } }] }), 'routes[0].fallback.status', /from 200 to 599/);
});

test('a queue without maxConcurrent is refused: no request would ever wait', () => {
  assertConfigError(resolve({ target: A, queue: 5 }), 'queue', /a queue needs maxConcurrent/);
  assertConfigError(resolve({ routes: [{ match: '/', targets: A, queue: 5 }] }), 'routes[0].queue', /a queue needs maxConcurrent/);
});

test('queue and queueTimeout resolve per route over the top-level values', () => {
  const config = resolveProxyOptions({ maxConcurrent: 4, queue: 10, routes: [{ match: '/a', targets: A }, { match: '/b', targets: B, queue: 2, queueTimeout: 50 }] });
  const byMatch = Object.fromEntries(config.routes.map((route) => [route.match, [route.queue, route.queueTimeout]]));
  assert.deepEqual(byMatch, { '/a': [10, 1000], '/b': [2, 50] });
});

test('a bad queue timeout is refused', () => {
  assertConfigError(resolve({ target: A, maxConcurrent: 1, queue: 1, queueTimeout: 0 }), 'queueTimeout', /expected a number > 0, got 0/);
});

test('--fallback-file naming a missing file exits 2 with one line', async (t) => {
  const { code, stdout, lines } = await runCli(t, ['--target', A, '--fallback-file', '/nonexistent/degraded.html']);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /^proxy-breaker: --fallback-file: cannot read "\/nonexistent\/degraded.html": no such file \(ENOENT\)/);
});

test('--queue without --max-concurrent exits 2 with one line', async (t) => {
  const { code, lines } = await runCli(t, ['--target', A, '--queue', '3']);
  assert.equal(code, 2);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /^proxy-breaker: --queue: a queue needs maxConcurrent/);
});

test('--fallback-status and --fallback-file set the fallback, over the config file\'s keys', async () => {
  const { parseCliArgs } = await import('../lib/cli/args.js');
  const { mergeOptions } = await import('../lib/cli/config.js');
  const args = parseCliArgs(['--target', A, '--fallback-status', '200', '--fallback-file', 'degraded.html', '--queue', '4', '--queue-timeout', '250']);
  assert.deepEqual(args.proxy.fallback, { status: 200, file: 'degraded.html' });
  assert.equal(args.proxy.queue, 4);
  assert.equal(args.proxy.queueTimeout, 250);
  const merged = mergeOptions({ fallback: { status: 503, headers: { 'X-Degraded': '1' }, body: 'x' } }, { fallback: { status: 200 } });
  assert.deepEqual(merged.fallback, { status: 200, headers: { 'X-Degraded': '1' }, body: 'x' });
});

test('a fallback file that is a directory is refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-breaker-fallback-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assertConfigError(resolve({ target: A, fallback: { file: dir } }), 'fallback.file', /is not a regular file/);
});

test('a fallback file over 1 MiB is refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-breaker-fallback-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'big.html');
  writeFileSync(file, Buffer.alloc(1024 * 1024 + 1, 0x61));
  assertConfigError(resolve({ target: A, fallback: { file } }), 'fallback.file', /is 1048577 bytes; at most 1048576 \(1 MiB\)/);
});

test('a fallback origin shared with another route must have the same breaker options', () => {
  assertConfigError(
    resolve({ routes: [{ match: '/a', targets: A }, { match: '/b', targets: 'http://127.0.0.1:3003', breaker: { failureThreshold: 2 }, fallback: { targets: [A] } }] }),
    'routes[1].fallback.targets[0]',
    /also a target of routes\[0\] with other breaker options/,
  );
});
