/**
 * Request smuggling: a request head whose framing two parsers could read differently must be
 * refused (400, connection closed) before anything reaches the target, and nothing pipelined
 * behind it may reach the target either. Node's llhttp refuses most of these itself (the
 * `clientError` path); what it lets through, the proxy's handler refuses (`headProblem`).
 *
 * Each payload is followed by `GET /smuggled`: the fixture must never see it.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, listening, only, proxyStatus, raw, rawUpstream, responses, setup, SMUGGLED, waitFor } from './helpers.js';

const body = '0\r\n\r\n';

/** Heads that must get 400 and leave the target untouched. */
const REFUSED: Array<[attack: string, head: string, payload?: string]> = [
  ['Content-Length and Transfer-Encoding: chunked together (CL.TE)', 'Content-Length: 4\r\nTransfer-Encoding: chunked'],
  ['Transfer-Encoding: chunked then Content-Length (TE.CL)', 'Transfer-Encoding: chunked\r\nContent-Length: 40'],
  ['two identical Content-Length fields', 'Content-Length: 5\r\nContent-Length: 5', 'hello'],
  ['two conflicting Content-Length fields', `Content-Length: 0\r\nContent-Length: ${SMUGGLED.length}`, ''],
  ['a Content-Length list "0, N"', `Content-Length: 0, ${SMUGGLED.length}`, ''],
  ['a signed Content-Length', 'Content-Length: +5', 'hello'],
  ['a negative Content-Length', 'Content-Length: -1', ''],
  ['a hexadecimal Content-Length', 'Content-Length: 0x5', 'hello'],
  ['a Content-Length past 2^64', 'Content-Length: 99999999999999999999999', ''],
  ['Transfer-Encoding: chunked, identity (chunked not last)', 'Transfer-Encoding: chunked, identity'],
  ['Transfer-Encoding: identity, chunked (a coding the proxy would drop)', 'Transfer-Encoding: identity, chunked'],
  ['Transfer-Encoding: gzip, chunked (a coding the proxy would drop)', 'Transfer-Encoding: gzip, chunked'],
  ['Transfer-Encoding: xchunked', 'Transfer-Encoding: xchunked'],
  ['Transfer-Encoding: chunked followed by a tab', 'Transfer-Encoding: chunked\t'],
  ['"Transfer-Encoding : chunked" (space before the colon)', 'Transfer-Encoding : chunked'],
  ['Transfer-Encoding split over two fields', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity'],
  ['Transfer-Encoding: chunked sent twice', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked'],
  ['Transfer-Encoding folded onto a continuation line', 'Transfer-Encoding:\r\n chunked'],
  ['Transfer-Encoding without chunked', 'Transfer-Encoding: gzip'],
  ['Transfer-Encoding with a vertical tab', 'Transfer-Encoding:\x0bchunked'],
];

for (const [attack, head, payload = body] of REFUSED) {
  test(`${attack}: 400, connection closed, nothing reaches the target`, async (t) => {
    const { port, up } = await setup(t);
    const { text, closed } = await raw(port, `POST / HTTP/1.1\r\nHost: x\r\n${head}\r\n\r\n${payload}${SMUGGLED}`);
    const reply = only(text);
    assert.equal(reply.status, 400);
    assert.equal(reply.headers['proxy-status'], proxyStatus('http_request_error'));
    assert.equal(reply.headers.connection, 'close');
    assert.ok(closed, 'the connection is closed');
    assert.equal(up.stats().requests, 0);
  });
}

test('Transfer-Encoding on an HTTP/1.0 request is refused (RFC 9112 6.1: its framing is faulty)', async (t) => {
  const { port, up } = await setup(t);
  const { text, closed } = await raw(port, `POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body}${SMUGGLED}`);
  const reply = only(text);
  assert.equal(reply.status, 400);
  assert.equal(reply.headers['proxy-status'], proxyStatus('http_request_error'));
  assert.ok(closed);
  assert.equal(up.stats().requests, 0);
});

test('a request pipelined behind a refused one is not forwarded (regression: it was, after Transfer-Encoding: identity, chunked)', async (t) => {
  const { port, up } = await setup(t);
  const pipelined = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\nGET /smuggled2 HTTP/1.1\r\nHost: x\r\n\r\n';
  const { text, closed } = await raw(port, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n${body}${pipelined}`);
  assert.deepEqual(responses(text).map((r) => r.status), [400]);
  assert.ok(closed);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(up.stats().requests, 0);
});

/** Chunked-body framing errors that llhttp finds before the body starts. */
const BAD_CHUNKS: Array<[attack: string, chunks: string]> = [
  ['a chunk size of ffffffffffffffffff (64-bit overflow)', `ffffffffffffffffff\r\nabc\r\n${body}`],
  ['a chunk size with a 0x prefix', `0x5\r\nhello\r\n${body}`],
  ['a negative chunk size', `-5\r\nhello\r\n${body}`],
  ['a chunk size line ended by a bare LF', `5\nhello\r\n${body}`],
];

for (const [attack, chunks] of BAD_CHUNKS) {
  test(`${attack}: 400, closed, the target never sees a whole request`, async (t) => {
    const { port, up } = await setup(t);
    const { text, closed } = await raw(port, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}${SMUGGLED}`);
    assert.equal(only(text).status, 400);
    assert.ok(closed);
    // The head may have been forwarded before the bad chunk was read; its body must then be cut off.
    await waitFor('the upstream request to end', () => up.stats().inFlight === 0);
    const stats = up.stats();
    assert.ok(stats.requests <= 1, `requests: ${stats.requests}`);
    if (stats.requests === 1) {
      assert.equal(stats.last?.url, '/');
      assert.equal(stats.aborted, 1, 'the forwarded request was aborted, not completed');
    }
  });
}

test('a bad chunk in the middle of a streamed body aborts the upstream request; nothing after it is forwarded', async (t) => {
  const { port, up } = await setup(t);
  const { text, closed } = await raw(port, 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', {
    then: [{ delay: 100, data: `3\r\nabcXX${body}${SMUGGLED}` }],
  });
  assert.equal(only(text).status, 400);
  assert.ok(closed);
  await waitFor('the upstream request to be aborted', () => up.stats().inFlight === 0);
  assert.equal(up.stats().requests, 1);
  assert.equal(up.stats().last?.url, '/');
  assert.equal(up.stats().aborted, 1);
});

/** Line-ending tricks in the head. */
const BAD_LINES: Array<[attack: string, request: string]> = [
  ['bare LF line endings', `GET / HTTP/1.1\nHost: x\nContent-Length: ${SMUGGLED.length}\n\n${SMUGGLED}`],
  ['one bare LF among CRLFs', `GET / HTTP/1.1\r\nHost: x\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['a bare CR inside the head', `GET / HTTP/1.1\r\nHost: x\rContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
];

for (const [attack, request] of BAD_LINES) {
  test(`${attack}: 400, closed, nothing reaches the target`, async (t) => {
    const { port, up } = await setup(t);
    const { text, closed } = await raw(port, request);
    assert.equal(only(text).status, 400);
    assert.ok(closed);
    assert.equal(up.stats().requests, 0);
  });
}

/** Spellings RFC 9110/9112 allow: read as plain chunked, and re-framed by the proxy, so the target cannot disagree. */
const ALLOWED: Array<[spelling: string, head: string]> = [
  ['chunked with trailing space', 'Transfer-Encoding: chunked '],
  ['chunked with a leading tab', 'Transfer-Encoding:\tchunked'],
  ['CHUNKED in capitals', 'Transfer-Encoding: CHUNKED'],
];

for (const [spelling, head] of ALLOWED) {
  test(`Transfer-Encoding ${spelling} is read as chunked, and the target sees the same request boundaries`, async (t) => {
    const { port, up } = await setup(t);
    const next = 'GET /pipelined HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const { text, closed } = await raw(port, `POST /first HTTP/1.1\r\nHost: x\r\n${head}\r\n\r\n5\r\nhello\r\n${body}${next}`);
    const [first, second, ...more] = responses(text);
    assert.equal(more.length, 0);
    assert.ok(closed);
    const seen = JSON.parse(first!.body) as { url: string; body: string; headers: Record<string, string> };
    assert.equal(seen.url, '/first');
    assert.equal(seen.body, 'hello');
    assert.equal(seen.headers['transfer-encoding'], 'chunked');
    assert.equal((JSON.parse(second!.body) as { url: string }).url, '/pipelined');
    assert.equal(up.stats().requests, 2);
  });
}

for (const method of ['DELETE', 'OPTIONS']) {
  test(`a chunked ${method} body is forwarded chunked, never as Content-Length: 0 with the body behind it (node-http-proxy#1720, CVE-2026-29057)`, async (t) => {
    const { port, up } = await setup(t);
    const next = 'GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const { text } = await raw(port, `${method} /item HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n${body}${next}`);
    const [first, second] = responses(text);
    assert.equal(first!.status, 200);
    const seen = JSON.parse(first!.body) as { method: string; body: string; headers: Record<string, string> };
    assert.equal(seen.method, method);
    assert.equal(seen.body, 'hello');
    assert.equal(seen.headers['transfer-encoding'], 'chunked');
    assert.equal(seen.headers['content-length'], undefined);
    // Had the body followed a Content-Length: 0, the target would have read "hello" as the next request.
    assert.equal(second!.status, 200);
    assert.equal((JSON.parse(second!.body) as { url: string }).url, '/after');
    assert.equal(up.stats().requests, 2);
  });
}

test('a GET with a Content-Length body carries the body to the target, not a second request', async (t) => {
  const { port, up } = await setup(t);
  const { text } = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`);
  const seen = JSON.parse(only(text).body) as { body: string };
  assert.equal(seen.body, SMUGGLED);
  assert.equal(up.stats().requests, 1);
  assert.equal(up.stats().last?.url, '/');
});

test('bytes after a WebSocket handshake the target refuses never reach it as a request (upgrade smuggling)', async (t) => {
  const { port, up } = await setup(t);
  // No Sec-WebSocket-Key: the fixture answers 400 instead of 101.
  const { text, closed } = await raw(port, `GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n${SMUGGLED}`);
  assert.equal(only(text).status, 400);
  assert.ok(closed);
  assert.equal(up.stats().requests, 1);
  assert.equal(up.stats().last?.url, '/chat');
});

test('an Upgrade: h2c request is refused with 403, so no HTTP/2 tunnel can carry requests past routing (h2c smuggling)', async (t) => {
  // A target that would accept h2c: 101, then anything it receives is "HTTP/2".
  const target = await rawUpstream(t, (socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'));
  const { port } = await listening(t, { target: target.url });
  for (const upgrade of ['h2c', 'websocket, h2c', 'H2C']) {
    const { text, closed } = await raw(
      port,
      `GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: ${upgrade}\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
    );
    const reply = only(text);
    assert.equal(reply.status, 403, upgrade);
    assert.equal(reply.headers['proxy-status'], proxyStatus('http_request_denied'));
    assert.ok(closed);
  }
  assert.equal(target.requests(), 0);
});

test('the fixture never saw /smuggled across a mixed run of every payload on one proxy', async (t) => {
  const up = await fixture(t);
  const { port } = await listening(t, { target: up.url });
  for (const [, head, payload = body] of REFUSED) await raw(port, `POST / HTTP/1.1\r\nHost: x\r\n${head}\r\n\r\n${payload}${SMUGGLED}`);
  for (const [, request] of BAD_LINES) await raw(port, request);
  assert.equal(up.stats().requests, 0);
});
