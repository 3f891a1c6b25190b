/**
 * Other spellings of a path cannot reach a route they should not: routes `/api` -> A and
 * `/admin` -> B, no catch-all. Each request-target is written byte for byte on a socket.
 */
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';
import { createProxy, type Proxy } from '../lib/proxy/proxy.js';
import { sendRaw, type Reply } from './routes-helpers.js';

let a: Upstream;
let b: Upstream;
let proxy: Proxy;
let port: number;

before(async () => {
  [a, b] = await Promise.all([startUpstream(), startUpstream()]);
  proxy = createProxy({ routes: [{ match: '/api', targets: a.url }, { match: '/admin', targets: b.url }] });
  port = (await proxy.listen()).port;
});

after(async () => {
  await proxy.close(0);
  await Promise.all([a.close(), b.close()]);
});

interface Landing {
  reply: Reply;
  /** 'A', 'B', or 'none' when neither upstream got a request. */
  at: 'A' | 'B' | 'none';
  /** The request-target the upstream received. */
  url: string | undefined;
}

async function land(target: string): Promise<Landing> {
  const before = [a.stats().requests, b.stats().requests];
  const reply = await sendRaw(port, `GET ${target} HTTP/1.1`);
  const after = [a.stats().requests, b.stats().requests];
  const hitA = after[0]! - before[0]!;
  const hitB = after[1]! - before[1]!;
  assert.ok(hitA + hitB <= 1, `${target} reached ${hitA + hitB} upstreams`);
  const at = hitA === 1 ? 'A' : hitB === 1 ? 'B' : 'none';
  const url = at === 'none' ? undefined : (at === 'A' ? a : b).stats().last?.url;
  return { reply, at, url };
}

async function assertLands(target: string, at: 'A' | 'B', url: string): Promise<void> {
  const landing = await land(target);
  assert.equal(landing.reply.status, 200, `${target}: ${landing.reply.status} ${landing.reply.body}`);
  assert.equal(landing.at, at, target);
  assert.equal(landing.url, url, `${target} must reach the upstream as the path its route matched`);
}

async function assertRefused(target: string, status: 400 | 404): Promise<void> {
  const landing = await land(target);
  assert.equal(landing.at, 'none', `${target} must not reach an upstream`);
  assert.equal(landing.reply.status, status, target);
  const error = status === 400 ? 'http_request_error' : 'destination_not_found';
  assert.equal(landing.reply.headers['proxy-status'], `proxy-breaker; error=${error}`, target);
  assert.deepEqual(JSON.parse(landing.reply.body), { error }, target);
}

test('/api/../admin is /admin: it lands on B and B receives /admin', async () => {
  await assertLands('/api/../admin', 'B', '/admin');
});

test('/API is not /api: paths are case-sensitive, so 404', async () => {
  await assertRefused('/API', 404);
  await assertRefused('/Admin', 404);
});

test('//api is /api: runs of slashes are merged and A receives /api', async () => {
  await assertLands('//api', 'A', '/api');
  await assertLands('///admin//x', 'B', '/admin/x');
});

test('/api%2F.. is one segment, not /api/.., so 404', async () => {
  await assertRefused('/api%2F..', 404);
  await assertRefused('/api%2f..%2fadmin', 404);
  await assertRefused('/admin%2F../api', 404);
});

test('/%2e%2e/admin decodes to /../admin, which is /admin on B', async () => {
  await assertLands('/%2e%2e/admin', 'B', '/admin');
});

test('/api/%2E%2E/admin is /admin on B, and B receives /admin', async () => {
  await assertLands('/api/%2E%2E/admin', 'B', '/admin');
  await assertLands('/api/.%2e/admin', 'B', '/admin');
});

test('/api/./x is /api/x on A', async () => {
  await assertLands('/api/./x', 'A', '/api/x');
});

test('/api/..%2Fadmin stays under /api: the escaped slash does not climb out', async () => {
  await assertLands('/api/..%2Fadmin', 'A', '/api/..%2Fadmin');
});

test('escaped unreserved characters are decoded before matching: /%61dmin is /admin', async () => {
  await assertLands('/%61dmin', 'B', '/admin');
  await assertLands('/api/%7Euser', 'A', '/api/~user');
});

test('the query is not part of routing and is forwarded as received', async () => {
  await assertLands('/api/x?next=/../admin&p=%2e%2e', 'A', '/api/x?next=/../admin&p=%2e%2e');
  await assertRefused('/?/admin', 404);
});

test('absolute-form http://evil.example/admin routes by its path only and goes to B, not to evil.example', async () => {
  await assertLands('http://evil.example/admin', 'B', '/admin');
  assert.equal(b.stats().last?.headers.host, new URL(b.url).host, 'the upstream gets its own Host, not the authority of the target');
});

test('absolute-form targets are normalised like any other: http://evil.example/api/../admin is /admin', async () => {
  await assertLands('http://evil.example/api/../admin', 'B', '/admin');
  await assertRefused('http://evil.example/', 404);
});

test('//evil.example/x is the path /evil.example/x, not a host: 404', async () => {
  await assertRefused('//evil.example/x', 404);
  await assertRefused('//evil.example/api', 404);
});

test('a backslash is refused with 400: /\\evil and /api\\..\\admin', async () => {
  await assertRefused('/\\evil', 400);
  await assertRefused('/api\\..\\admin', 400);
});

test('@evil-style targets are refused with 400', async () => {
  await assertRefused('@evil', 400);
  await assertRefused('@evil.example/admin', 400);
});

test('a malformed escape is refused with 400', async () => {
  await assertRefused('/api/%zz', 400);
  await assertRefused('/admin%', 400);
});
