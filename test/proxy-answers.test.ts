/**
 * Answers the proxy makes itself carry `{"error", "target"}` and `Proxy-Status` (RFC 9209); the
 * upstream's own answers are relayed unchanged.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { sendAnswer } from '../lib/proxy/answers.js';
import { delay, fields, parseRaw, proxy, rawExchange, request, upstream, type Reply } from './proxy-helpers.js';

function assertProxyAnswer(reply: Reply, status: number, error: string, target?: string): void {
  assert.equal(reply.status, status);
  assert.equal(reply.headers['proxy-status'], `proxy-breaker; error=${error}`);
  assert.equal(reply.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(reply.text), target === undefined ? { error } : { error, target });
}

test('a refused connection gets 502 connection_refused', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url });
  assertProxyAnswer(await request(p.port, '/'), 502, 'connection_refused', up.url);
});

test('a connection reset gets 502 connection_terminated', async (t) => {
  const up = await upstream(t, { mode: 'reset' });
  const p = await proxy(t, { target: up.url });
  assertProxyAnswer(await request(p.port, '/'), 502, 'connection_terminated', up.url);
});

test('no response headers within timeout gets 504 http_response_timeout after about timeout ms', async (t) => {
  const up = await upstream(t, { mode: 'hang' });
  const p = await proxy(t, { target: up.url, timeout: 200 });
  const reply = await request(p.port, '/');
  assertProxyAnswer(reply, 504, 'http_response_timeout', up.url);
  assert.ok(reply.elapsed >= 150 && reply.elapsed <= 1500, `answered after ${reply.elapsed} ms`);
});

test('an open circuit gets 503 destination_unavailable with Retry-After in whole seconds', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url, breaker: { failureThreshold: 1, resetTimeout: 2_500, jitter: 0 } });
  await request(p.port, '/');
  const reply = await request(p.port, '/');
  assertProxyAnswer(reply, 503, 'destination_unavailable', up.url);
  assert.equal(reply.headers['retry-after'], '3');
});

test('Retry-After is at least 1 second while the circuit is open for less', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url, breaker: { failureThreshold: 1, resetTimeout: 300, jitter: 0 } });
  await request(p.port, '/');
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['retry-after'], '1');
});

test('a request no route matches gets 404 destination_not_found', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { routes: [{ match: '/api', targets: [up.url] }] });
  assertProxyAnswer(await request(p.port, '/other'), 404, 'destination_not_found');
  assert.equal((await request(p.port, '/api/x')).status, 200);
  assert.equal(up.stats().requests, 1);
});

test('CONNECT gets 405 http_request_denied with Allow', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = parseRaw(await rawExchange(p.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'));
  assert.equal(reply.status, 405);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_request_denied');
  assert.match(reply.headers.allow ?? '', /GET/);
  assert.deepEqual(JSON.parse(reply.body), { error: 'http_request_denied' });
  assert.equal(up.stats().requests, 0);
});

test('a request carrying this proxy\'s Via gets 508 proxy_loop_detected', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assertProxyAnswer(await request(p.port, '/', { headers: { via: '1.0 edge, 1.1 proxy-breaker' } }), 508, 'proxy_loop_detected');
  assert.equal(up.stats().requests, 0);
});

test('this proxy\'s token in a field other than Via is not a loop, in a second Via field it is', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assert.equal((await request(p.port, '/', { headers: { 'x-via': '1.1 proxy-breaker' } })).status, 200);
  const raw = 'GET / HTTP/1.1\r\nHost: x\r\nVia: 1.1 edge\r\nvia: 1.1 proxy-breaker\r\nConnection: close\r\n\r\n';
  assert.equal(parseRaw(await rawExchange(p.port, raw)).status, 508);
  assert.equal(up.stats().requests, 1);
});

test('a Via naming another proxy-breaker-like host is not a loop', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assert.equal((await request(p.port, '/', { headers: { via: '1.1 proxy-breaker.example' } })).status, 200);
});

test('an asterisk-form request-target gets 400 http_request_error', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = parseRaw(await rawExchange(p.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  assert.equal(reply.status, 400);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_request_error');
});

test('a malformed request gets 400 with Proxy-Status and a closed connection', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = parseRaw(await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
  assert.equal(reply.status, 400);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_request_error');
  assert.equal(reply.headers.connection, 'close');
});

for (const status of [404, 500, 503]) {
  test(`the upstream's own ${status} is relayed unchanged, without Proxy-Status`, async (t) => {
    const up = await upstream(t, { mode: { type: 'status', status, body: `upstream says ${status}` } });
    const p = await proxy(t, { target: up.url });
    const reply = await request(p.port, '/');
    assert.equal(reply.status, status);
    assert.equal(reply.text, `upstream says ${status}`);
    assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(reply.headers['content-length'], String(`upstream says ${status}`.length));
    assert.equal(reply.headers['proxy-status'], undefined);
  });
}

test('an upstream that dies after the headers cuts the client connection instead of ending it', async (t) => {
  const up = await upstream(t, { mode: 'reset-mid-body' });
  const p = await proxy(t, { target: up.url });
  const error = await request(p.port, '/').then(
    () => undefined,
    (caught: unknown) => caught as NodeJS.ErrnoException,
  );
  assert.ok(error !== undefined, 'the response ended as if it were whole');
  assert.ok(error.code === 'ECONNRESET' || /aborted|socket hang up/.test(error.message), String(error));
});

test('a raw client sees the cut-off body end with the connection, short of Content-Length', async (t) => {
  const up = await upstream(t, { mode: 'reset-mid-body' });
  const p = await proxy(t, { target: up.url });
  const reply = parseRaw(await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-length'], '1024');
  assert.ok(reply.body.length < 1024, `got ${reply.body.length} bytes`);
});

test('the proxy answers a HEAD request with headers only', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url });
  const reply = await request(p.port, '/', { method: 'HEAD' });
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_refused');
  assert.equal(reply.body.length, 0);
});

test('repeated answers for the same target are identical', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url, breaker: { failureThreshold: 10 } });
  const first = await request(p.port, '/');
  await delay(1);
  const second = await request(p.port, '/');
  assert.equal(first.text, second.text);
  assert.deepEqual(fields(first.rawHeaders, 'proxy-status'), fields(second.rawHeaders, 'proxy-status'));
});

test('an answer after the response has started cuts the connection instead', async (t) => {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
    sendAnswer(res, 502, 'connection_terminated', 'http://target');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await assert.rejects(request((server.address() as AddressInfo).port, '/'));
});

test('an answer can carry extra fields', async (t) => {
  const server = http.createServer((_req, res) => sendAnswer(res, 405, 'http_request_denied', '', undefined, ['Allow', 'GET']));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const reply = await request((server.address() as AddressInfo).port, '/');
  assert.equal(reply.status, 405);
  assert.equal(reply.headers.allow, 'GET');
  assert.equal(reply.headers['retry-after'], undefined);
  assert.deepEqual(JSON.parse(reply.text), { error: 'http_request_denied' });
});
