/**
 * Request trailers go on to the target after a chunked request body, as response trailers come
 * back, with the same fields dropped (RFC 9110 6.5.1: no framing, routing, auth or control fields;
 * lib/http1/trailers.ts).
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRaw, proxy, rawExchange, upstream } from './proxy-helpers.js';

const HEAD = 'POST /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n';

test('request trailers after a chunked body reach the target', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = parseRaw(await rawExchange(p.port, `${HEAD}5\r\nhello\r\n0\r\nX-Checksum: 42\r\nX-Other: a b\r\n\r\n`));
  assert.equal(reply.status, 200);
  assert.deepEqual(up.stats().last?.trailers, { 'x-checksum': '42', 'x-other': 'a b' });
});

test('request trailers of an empty chunked body reach the target', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = parseRaw(await rawExchange(p.port, `${HEAD}0\r\nX-Checksum: 0\r\n\r\n`));
  assert.equal(reply.status, 200);
  assert.deepEqual(up.stats().last?.trailers, { 'x-checksum': '0' });
});

test('request trailers that name routing, auth or control fields are dropped; the others pass', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const trailers = ['Host: evil', 'Authorization: Basic eA==', 'Cookie: a=b', 'X-Forwarded-For: 6.6.6.6', 'Expect: 100-continue', 'Trailer: X-Checksum', 'X-Checksum: 42'];
  const reply = parseRaw(await rawExchange(p.port, `${HEAD}5\r\nhello\r\n0\r\n${trailers.join('\r\n')}\r\n\r\n`));
  assert.equal(reply.status, 200);
  assert.deepEqual(up.stats().last?.trailers, { 'x-checksum': '42' });
});

test('a chunked request without trailers reaches the target without any', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = parseRaw(await rawExchange(p.port, `${HEAD}5\r\nhello\r\n0\r\n\r\n`));
  assert.equal(reply.status, 200);
  assert.equal(up.stats().last?.trailers, undefined);
});
