/**
 * Header rules, through the proxy (the fixture echoes what it received) and on headers.ts itself.
 * Requests fetch() and http.request() refuse to send go over raw sockets.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test, type TestContext } from 'node:test';
import { forwardRequestHeaders, forwardResponseHeaders, hasBody, viaNamesThisProxy, type ForwardContext } from '../lib/proxy/headers.js';
import { listening } from './lifecycle-helpers.js';
import { echo, fields, parseRaw, proxy, rawExchange, request, upstream, type Echo } from './proxy-helpers.js';

/** Sends a raw request (head lines without the request line's CRLF rules spelled out) and returns the fixture's echo. */
async function rawEcho(port: number, head: string[], body = ''): Promise<Echo> {
  const reply = parseRaw(await rawExchange(port, `${head.join('\r\n')}\r\n\r\n${body}`));
  assert.equal(reply.status, 200, reply.body);
  return JSON.parse(reply.body) as Echo;
}

test('hop-by-hop request fields and those named in Connection are not forwarded', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen = await rawEcho(p.port, [
    'GET /h HTTP/1.1',
    'Host: client.example',
    'Connection: close, X-Secret',
    'X-Secret: s',
    'Keep-Alive: timeout=5',
    'Proxy-Connection: keep-alive',
    'TE: trailers',
    'Upgrade: h2c',
    'Proxy-Authorization: Basic YTpi',
    'X-Kept: yes',
  ]);
  // The agent's own `Connection: keep-alive` to the target is fine; the client's options are not.
  assert.doesNotMatch(seen.headers.connection ?? '', /x-secret|close/i);
  for (const name of ['x-secret', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'proxy-authorization']) {
    assert.equal(seen.headers[name], undefined, `${name} was forwarded`);
  }
  assert.equal(seen.headers['x-kept'], 'yes');
});

test('a request with a Trailer field and trailers is forwarded without the Trailer field', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen = await rawEcho(
    p.port,
    ['POST /t HTTP/1.1', 'Host: x', 'Connection: close', 'Transfer-Encoding: chunked', 'Trailer: x-checksum'],
    '5\r\nhello\r\n0\r\nx-checksum: 42\r\n\r\n',
  );
  assert.equal(seen.headers.trailer, undefined);
  assert.equal(seen.body, 'hello');
  // Still serving: the field did not take the proxy down (node-http-proxy#1647).
  assert.equal((await request(p.port, '/')).status, 200);
});

test('a chunked request body is forwarded chunked', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen = await rawEcho(
    p.port,
    ['DELETE /c HTTP/1.1', 'Host: x', 'Connection: close', 'Transfer-Encoding: chunked'],
    '3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n',
  );
  assert.equal(seen.headers['transfer-encoding'], 'chunked');
  assert.equal(seen.body, 'abcdef');
});

test('X-Forwarded-For keeps the client\'s value and appends the client address', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen = echo(await request(p.port, '/', { headers: ['Host', 'x', 'X-Forwarded-For', '203.0.113.7', 'X-Forwarded-For', '198.51.100.1'] }));
  assert.equal(seen.headers['x-forwarded-for'], '203.0.113.7, 198.51.100.1, 127.0.0.1');
  assert.deepEqual(fields(seen.rawHeaders, 'x-forwarded-for'), ['203.0.113.7, 198.51.100.1, 127.0.0.1']);
});

test('X-Forwarded-For is the client address when the client sent none', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assert.equal(echo(await request(p.port, '/')).headers['x-forwarded-for'], '127.0.0.1');
});

test('X-Forwarded-Proto and X-Forwarded-Host say how the client reached the proxy', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen = echo(
    await request(p.port, '/', { headers: { host: 'shop.example', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'spoofed.example' } }),
  );
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], 'shop.example');
  assert.equal(fields(seen.rawHeaders, 'x-forwarded-host').length, 1);
});

test('Via gets this proxy\'s entry after the client\'s', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assert.equal(echo(await request(p.port, '/')).headers.via, '1.1 proxy-breaker');
  assert.equal(echo(await request(p.port, '/', { headers: { via: '1.0 edge' } })).headers.via, '1.0 edge, 1.1 proxy-breaker');
});

test('Host becomes the target\'s host', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen = echo(await request(p.port, '/', { headers: { host: 'shop.example' } }));
  assert.equal(seen.headers.host, new URL(up.url).host);
  assert.equal(fields(seen.rawHeaders, 'host').length, 1);
});

test('a request with two Host fields gets 400 and reaches no target (RFC 9112 3.2)', async (t) => {
  const a = await upstream(t);
  const b = await upstream(t);
  const p = await proxy(t, {
    routes: [
      { match: 'a.example', targets: [a.url] },
      { match: 'b.example', targets: [b.url] },
    ],
    preserveHost: true,
  });
  const reply = parseRaw(await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n'));
  assert.equal(reply.status, 400);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_request_error');
  assert.equal(a.stats().requests + b.stats().requests, 0);
});

test('forwardRequestHeaders uses the first Host, the one the route was chosen by', () => {
  const out = forward(['Host', 'a.example', 'Host', 'b.example'], { preserveHost: true });
  assert.deepEqual(fields(out, 'host'), ['a.example']);
  assert.deepEqual(fields(out, 'x-forwarded-host'), ['a.example']);
});

test('preserveHost: true keeps the client\'s Host', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url, preserveHost: true });
  assert.equal(echo(await request(p.port, '/', { headers: { host: 'shop.example' } })).headers.host, 'shop.example');
});

test('Connection naming X-Forwarded-For and Via does not strip the proxy\'s own values', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen = await rawEcho(p.port, [
    'GET / HTTP/1.1',
    'Host: shop.example',
    'Connection: close, X-Forwarded-For, Via, X-Forwarded-Host, X-Forwarded-Proto, Host',
    'X-Forwarded-For: 203.0.113.7',
  ]);
  assert.equal(seen.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(seen.headers.via, '1.1 proxy-breaker');
  assert.equal(seen.headers['x-forwarded-host'], 'shop.example');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers.host, new URL(up.url).host);
});

test('Connection naming Content-Length does not drop the body\'s framing', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen = await rawEcho(p.port, ['POST / HTTP/1.1', 'Host: x', 'Connection: close, Content-Length', 'Content-Length: 5'], 'hello');
  assert.equal(seen.body, 'hello');
  assert.equal(seen.headers['content-length'], '5');
});

test('end-to-end request fields keep their order and repetitions', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen = echo(await request(p.port, '/', { headers: ['Host', 'x', 'X-B', '1', 'X-A', '2', 'X-B', '3'] }));
  const custom = seen.rawHeaders.filter((_, i, all) => i % 2 === 0 && all[i]!.startsWith('X-'));
  assert.deepEqual(custom.slice(0, 3), ['X-B', 'X-A', 'X-B']);
  assert.deepEqual(fields(seen.rawHeaders, 'x-b'), ['1', '3']);
});

/** An upstream (not the fixture: it cannot send arbitrary fields) answering with hop-by-hop fields. */
async function hopByHopUpstream(t: TestContext): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, [
      'Connection', 'X-Internal, keep-alive',
      'X-Internal', 'secret',
      'Keep-Alive', 'timeout=5',
      'Proxy-Authenticate', 'Basic realm="x"',
      'Proxy-Connection', 'keep-alive',
      'Upgrade', 'h2c',
      'TE', 'trailers',
      'X-End-To-End', 'kept',
      'Set-Cookie', 'a=1',
      'Set-Cookie', 'b=2',
      'Content-Length', '2',
    ]);
    res.end('ok');
  });
  return listening(t, server);
}

test('hop-by-hop response fields and those named in Connection are not relayed', async (t) => {
  const target = await hopByHopUpstream(t);
  const p = await proxy(t, { target });
  const reply = await request(p.port, '/');
  assert.equal(reply.text, 'ok');
  for (const name of ['x-internal', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'upgrade', 'te']) {
    assert.equal(reply.headers[name], undefined, `${name} was relayed`);
  }
  assert.notEqual(reply.headers.connection, 'X-Internal, keep-alive');
  assert.equal(reply.headers['x-end-to-end'], 'kept');
  assert.deepEqual(reply.headers['set-cookie'], ['a=1', 'b=2']);
});

// --- headers.ts on its own ------------------------------------------------------------------

const CONTEXT: ForwardContext = { targetHost: 'up:80', preserveHost: false, proto: 'http', clientAddress: '10.0.0.1', upgrade: false };

function forward(raw: string[], context: Partial<ForwardContext> = {}): string[] {
  return forwardRequestHeaders({ rawHeaders: raw } as http.IncomingMessage, { ...CONTEXT, ...context });
}

test('forwardRequestHeaders appends Host, X-Forwarded-* and Via after the client\'s fields', () => {
  assert.deepEqual(forward(['Host', 'a.example', 'Accept', '*/*']), [
    'Accept', '*/*',
    'Host', 'up:80',
    'X-Forwarded-For', '10.0.0.1',
    'X-Forwarded-Proto', 'http',
    'X-Forwarded-Host', 'a.example',
    'Via', '1.1 proxy-breaker',
  ]);
});

test('forwardRequestHeaders without a client Host sends the target\'s and no X-Forwarded-Host', () => {
  const out = forward([], { preserveHost: true });
  assert.deepEqual(fields(out, 'host'), ['up:80']);
  assert.deepEqual(fields(out, 'x-forwarded-host'), []);
});

test('forwardRequestHeaders takes the authority of an absolute-form target over Host', () => {
  const out = forward(['Host', 'client.example'], { authority: 'a.example', preserveHost: true });
  assert.deepEqual(fields(out, 'host'), ['a.example']);
  assert.deepEqual(fields(out, 'x-forwarded-host'), ['a.example']);
});

test('forwardRequestHeaders joins repeated Via fields', () => {
  assert.deepEqual(fields(forward(['Via', '1.0 a', 'via', '1.1 b']), 'via'), ['1.0 a, 1.1 b, 1.1 proxy-breaker']);
});

test('forwardRequestHeaders drops Expect (the proxy answered 100-continue itself)', () => {
  assert.deepEqual(fields(forward(['Expect', '100-continue']), 'expect'), []);
});

test('forwardRequestHeaders keeps Connection: Upgrade and Upgrade for a handshake only', () => {
  const raw = ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'];
  const handshake = forward(raw, { upgrade: true });
  assert.deepEqual(fields(handshake, 'connection'), ['Upgrade']);
  assert.deepEqual(fields(handshake, 'upgrade'), ['websocket']);
  assert.deepEqual(fields(handshake, 'sec-websocket-key'), ['k']);
  const plain = forward(raw);
  assert.deepEqual(fields(plain, 'connection'), []);
  assert.deepEqual(fields(plain, 'upgrade'), []);
});

test('forwardRequestHeaders reads Connection options from every Connection field, case-insensitively', () => {
  const out = forward(['Connection', 'x-a', 'CONNECTION', ' X-B ,,', 'X-A', '1', 'x-b', '2', 'X-C', '3']);
  assert.deepEqual(fields(out, 'x-a'), []);
  assert.deepEqual(fields(out, 'x-b'), []);
  assert.deepEqual(fields(out, 'x-c'), ['3']);
});

test('forwardResponseHeaders keeps Connection and Upgrade of a 101', () => {
  const raw = ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Keep-Alive', 'x', 'Sec-WebSocket-Accept', 'a'];
  assert.deepEqual(forwardResponseHeaders(raw, true), ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Accept', 'a']);
  assert.deepEqual(forwardResponseHeaders(raw), ['Sec-WebSocket-Accept', 'a']);
});

test('forwardResponseHeaders keeps Trailer', () => {
  assert.deepEqual(forwardResponseHeaders(['Transfer-Encoding', 'chunked', 'Trailer', 'x-t']), ['Trailer', 'x-t']);
});

test('viaNamesThisProxy finds this proxy\'s token in any Via entry, with or without a comment', () => {
  assert.equal(viaNamesThisProxy('1.1 proxy-breaker'), true);
  assert.equal(viaNamesThisProxy('1.0 a, 1.1 proxy-breaker (v1)'), true);
  assert.equal(viaNamesThisProxy('1.1 proxy-breaker-2, 1.1 my-proxy-breaker'), false);
  assert.equal(viaNamesThisProxy('1.1 edge'), false);
  assert.equal(viaNamesThisProxy(''), false);
});

test('hasBody is true for Transfer-Encoding or a non-zero Content-Length', () => {
  const req = (headers: http.IncomingHttpHeaders): http.IncomingMessage => ({ headers }) as http.IncomingMessage;
  assert.equal(hasBody(req({})), false);
  assert.equal(hasBody(req({ 'content-length': '0' })), false);
  assert.equal(hasBody(req({ 'content-length': '3' })), true);
  assert.equal(hasBody(req({ 'transfer-encoding': 'chunked' })), true);
});
