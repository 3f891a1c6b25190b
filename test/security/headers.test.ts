/**
 * Hostile header fields: `Connection` abuse, Host confusion, header-count truncation, invalid
 * names and values, `Trailer`, `Expect`. Each test checks the answer and what the fixture saw.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test } from 'node:test';
import { SERVER_LIMITS } from '../../lib/index.js';
import { fixture, listening, only, portOf, proxyStatus, raw, responses, setup } from './helpers.js';

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  rawHeaders: string[];
  body?: string;
}

function echoOf(text: string): Echo {
  return JSON.parse(only(text).body) as Echo;
}

test('Connection: X-Forwarded-For, Via, Content-Length cannot strip the proxy\'s own fields or the body\'s framing', async (t) => {
  const { port, up } = await setup(t);
  const { text } = await raw(
    port,
    'POST /form HTTP/1.1\r\nHost: x\r\nConnection: X-Forwarded-For, Via, Content-Length, X-Forwarded-Proto, X-Forwarded-Host, Host, close\r\n' +
      'X-Forwarded-For: 203.0.113.9\r\nVia: 1.1 edge\r\nContent-Length: 5\r\n\r\nhello',
  );
  const seen = echoOf(text);
  assert.equal(seen.body, 'hello');
  assert.equal(seen.headers['content-length'], '5');
  assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(seen.headers.via, '1.1 edge, 1.1 proxy-breaker');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], 'x');
  assert.equal(seen.headers.host, new URL(up.url).host);
  assert.equal(seen.headers.connection, 'keep-alive', 'the proxy\'s own Connection, not the client\'s');
});

test('a field the client names in Connection is dropped, other fields pass', async (t) => {
  const { port } = await setup(t);
  const { text } = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: X-Secret, close\r\nX-Secret: s\r\nX-Kept: k\r\nKeep-Alive: timeout=99\r\n\r\n');
  const seen = echoOf(text);
  assert.equal(seen.headers['x-secret'], undefined);
  assert.equal(seen.headers['keep-alive'], undefined);
  assert.equal(seen.headers['x-kept'], 'k');
});

test('Connection: Transfer-Encoding on a chunked request keeps the body chunked', async (t) => {
  const { port } = await setup(t);
  const { text } = await raw(port, 'POST / HTTP/1.1\r\nHost: x\r\nConnection: Transfer-Encoding, close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  const seen = echoOf(text);
  assert.equal(seen.body, 'hello');
  assert.equal(seen.headers['transfer-encoding'], 'chunked');
});

test('a client\'s X-Forwarded-Proto and X-Forwarded-Host are replaced, not passed on', async (t) => {
  const { port } = await setup(t);
  const { text } = await raw(port, 'GET / HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: admin.internal\r\nConnection: close\r\n\r\n');
  const seen = echoOf(text);
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], 'shop.example');
});

test('two Host fields are refused with 400 (regression: routing read the first, X-Forwarded-Host the second)', async (t) => {
  const { port, up } = await setup(t);
  const { text, closed } = await raw(port, 'GET / HTTP/1.1\r\nHost: shop.example\r\nHost: admin.internal\r\n\r\n');
  const reply = only(text);
  assert.equal(reply.status, 400);
  assert.equal(reply.headers['proxy-status'], proxyStatus('http_request_error'));
  assert.ok(closed);
  assert.equal(up.stats().requests, 0);
});

test('two Host fields cannot pick one route and reach another host\'s target (host routing)', async (t) => {
  const shop = await fixture(t);
  const admin = await fixture(t);
  const { port } = await listening(t, {
    routes: [
      { match: 'shop.example', targets: shop.url },
      { match: 'admin.internal', targets: admin.url },
    ],
    preserveHost: true,
  });
  const { text } = await raw(port, 'GET / HTTP/1.1\r\nHost: shop.example\r\nHost: admin.internal\r\n\r\n');
  assert.equal(only(text).status, 400);
  assert.equal(shop.stats().requests + admin.stats().requests, 0);
});

for (const host of ['evil.example/path', 'user@evil.example', 'evil.example\\x', 'a b', 'evil.example?x', 'evil.example#x']) {
  test(`an invalid Host ${JSON.stringify(host)} is refused with 400 instead of travelling on in X-Forwarded-Host`, async (t) => {
    const { port, up } = await setup(t);
    const { text } = await raw(port, `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    assert.equal(only(text).status, 400);
    assert.equal(up.stats().requests, 0);
  });
}

test('valid Host spellings pass: name:port, IPv4, [IPv6]:port, upper case', async (t) => {
  const { port, up } = await setup(t);
  for (const host of ['shop.example:8080', '10.0.0.1', '[::1]:80', 'SHOP.Example', 'under_score.example']) {
    const { text } = await raw(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.equal(only(text).status, 200, host);
  }
  assert.equal(up.stats().requests, 5);
});

test('an HTTP/1.1 request without Host gets 400 (Node) and nothing is forwarded', async (t) => {
  const { port, up } = await setup(t);
  const { text } = await raw(port, 'GET / HTTP/1.1\r\n\r\n');
  assert.equal(only(text).status, 400);
  assert.equal(up.stats().requests, 0);
});

function manyFields(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += `X-F${i}: ${i}\r\n`;
  return out;
}

test(`more than ${SERVER_LIMITS.maxHeaderFields} header fields get 431 (regression: the proxy's Host, X-Forwarded-For and Via could be pushed past a Node target's field limit)`, async (t) => {
  const { port, up } = await setup(t);
  // Host is field 1: 100 in all pass, 101 do not.
  const ok = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\n${manyFields(SERVER_LIMITS.maxHeaderFields - 2)}Connection: close\r\n\r\n`);
  assert.equal(only(ok.text).status, 200);
  const tooMany = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\n${manyFields(SERVER_LIMITS.maxHeaderFields - 1)}Connection: close\r\n\r\n`);
  const reply = only(tooMany.text);
  assert.equal(reply.status, 431);
  assert.equal(reply.headers['proxy-status'], proxyStatus('http_request_error'));
  assert.ok(tooMany.closed);
  assert.equal(up.stats().requests, 1);
});

test('without the field limit, a Node target would drop the proxy\'s own fields: what the limit prevents', async (t) => {
  // Evidence for the limit above: Node keeps about the first 1000 fields and ignores the rest.
  const seen: Array<string | undefined> = [];
  const target = http.createServer((req, res) => {
    seen.push(req.headers['x-forwarded-for'] as string | undefined);
    res.end();
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => target.close(() => resolve())));
  const fields: string[] = ['Host', 'x'];
  for (let i = 0; i < 1500; i++) fields.push(`X-F${i}`, 'x');
  fields.push('X-Forwarded-For', '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ port: portOf(target), host: '127.0.0.1', headers: fields, agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(seen, [undefined]);
});

test('3000 identical small fields, which Node\'s 16 KiB head limit lets through, get 431', async (t) => {
  // Node stops counting head bytes once it stops keeping fields (about 1000): 24 KB pass its limit.
  const { port, up } = await setup(t);
  const { text, closed } = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\n${'X-A: 1\r\n'.repeat(3000)}\r\n`);
  assert.equal(only(text).status, 431);
  assert.ok(closed);
  assert.equal(up.stats().requests, 0);
});

test('5000 header fields get 431 and never reach the target', async (t) => {
  const { port, up } = await setup(t);
  const { text, closed } = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\n${manyFields(5000)}\r\n`);
  assert.equal(only(text).status, 431);
  assert.ok(closed);
  assert.equal(up.stats().requests, 0);
});

const INVALID: Array<[what: string, field: string]> = [
  ['a space in a field name', 'X Bad: 1'],
  ['a NUL in a field value', 'X-Bad: a\x00b'],
  ['a control character in a field value', 'X-Bad: a\x01b'],
  ['a DEL in a field name', 'X\x7fBad: 1'],
  ['a field line without a colon', 'X-Bad'],
  ['an empty field name', ': value'],
  ['a non-ASCII byte in a field name', 'X-B\xe4d: 1'],
];

for (const [what, field] of INVALID) {
  test(`${what} gets 400 and nothing is forwarded`, async (t) => {
    const { port, up } = await setup(t);
    const { text, closed } = await raw(port, Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\n${field}\r\n\r\n`, 'latin1'));
    const reply = only(text);
    assert.equal(reply.status, 400);
    assert.equal(reply.headers['proxy-status'], proxyStatus('http_request_error'));
    assert.ok(closed);
    assert.equal(up.stats().requests, 0);
  });
}

test('a Trailer request field and request trailers do not crash the proxy (node-http-proxy#1647)', async (t) => {
  const { port, up } = await setup(t);
  const { text } = await raw(
    port,
    'POST / HTTP/1.1\r\nHost: x\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: 42\r\n\r\n',
  );
  const seen = echoOf(text);
  assert.equal(seen.body, 'hello');
  assert.equal(seen.headers.trailer, undefined);
  // A Trailer field on a request without a body is harmless too.
  const empty = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nTrailer: X-Checksum\r\nConnection: close\r\n\r\n');
  assert.equal(only(empty.text).status, 200);
  assert.equal(up.stats().requests, 2);
});

test('Expect: 100-continue gets 100 Continue from the proxy, then the target\'s answer', async (t) => {
  const { port, up } = await setup(t);
  const { text } = await raw(port, 'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n', {
    then: [{ delay: 50, data: 'hello' }],
  });
  const [interim, final] = responses(text);
  assert.equal(interim!.status, 100);
  assert.equal(final!.status, 200);
  const seen = JSON.parse(final!.body) as Echo;
  assert.equal(seen.body, 'hello');
  assert.equal(seen.headers.expect, undefined, 'the proxy answered the expectation itself');
  assert.equal(up.stats().requests, 1);
});

test('Expect: something-else gets 417 and nothing is forwarded', async (t) => {
  const { port, up } = await setup(t);
  for (const request of [
    'POST / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    'GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n',
  ]) {
    const { text } = await raw(port, request);
    assert.equal(only(text).status, 417);
  }
  assert.equal(up.stats().requests, 0);
});
