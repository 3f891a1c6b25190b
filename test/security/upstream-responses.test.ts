/**
 * A hostile or broken target: malformed status lines, over-long heads, framing conflicts, 1xx
 * storms, a 101 nobody asked for. The client gets a proxy-made 502 naming the error type
 * (RFC 9209), never the broken bytes, and the target's breaker counts a failure.
 */
import * as assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { loadTestCertificate } from '../../fixtures/certificate.js';
import { createProxy, type Proxy, type ProxyOptions } from '../../lib/index.js';
import { fixture, listening, only, proxyStatus, raw, rawUpstream } from './helpers.js';

const INTERIM = 'HTTP/1.1 102 Processing\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

async function behind(t: TestContext, respond: (socket: Socket) => void, options: Omit<ProxyOptions, 'target'> = {}): Promise<{ proxy: Proxy; port: number; origin: string }> {
  const target = await rawUpstream(t, respond);
  const started = await listening(t, { ...options, target: target.url, breaker: { failureThreshold: 100 } });
  return { ...started, origin: target.url };
}

function failuresOf(proxy: Proxy): number {
  return proxy.snapshot().targets[0]!.counts.failures;
}

const BROKEN: Array<[what: string, bytes: string, error: string]> = [
  ['a garbage status line', 'GARBAGE\r\n\r\n', 'http_protocol_error'],
  ['a non-numeric status code', 'HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n', 'http_protocol_error'],
  ['a two-digit status code', 'HTTP/1.1 99 Odd\r\nContent-Length: 0\r\n\r\n', 'http_protocol_error'],
  ['a four-digit status code', 'HTTP/1.1 1000 Odd\r\nContent-Length: 0\r\n\r\n', 'http_protocol_error'],
  ['bare LF line endings', 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', 'http_protocol_error'],
  ['a CR inside a field value', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n', 'http_protocol_error'],
  ['two conflicting Content-Length fields', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nokxyz', 'http_protocol_error'],
  ['Content-Length with Transfer-Encoding: chunked', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', 'http_protocol_error'],
  ['a head over 16 KiB', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\nContent-Length: 0\r\n\r\n`, 'http_response_header_section_size'],
  ['3000 distinct header fields (32 KiB)', `HTTP/1.1 200 OK\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: 1\r\n`).join('')}Content-Length: 0\r\n\r\n`, 'http_response_header_section_size'],
  ['300 interim 102 responses before the final one (a 1xx storm)', `${INTERIM.repeat(300)}${OK}`, 'http_protocol_error'],
  ['a 101 Switching Protocols to a plain request', 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nraw bytes', 'http_protocol_error'],
];

for (const [what, bytes, error] of BROKEN) {
  test(`a target answering ${what}: 502 ${error}, counted by the breaker`, async (t) => {
    const { proxy, port, origin } = await behind(t, (socket) => socket.end(bytes));
    const { text, elapsed } = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const reply = only(text);
    assert.equal(reply.status, 502);
    assert.equal(reply.headers['proxy-status'], proxyStatus(error));
    assert.deepEqual(JSON.parse(reply.body), { error, target: origin });
    assert.ok(elapsed < 1_000, `answered after ${Math.round(elapsed)} ms, not at the call timeout`);
    assert.equal(failuresOf(proxy), 1);
    assert.equal(proxy.snapshot().targets[0]!.requests.error, 1);
  });
}

test('an endless stream of 1xx responses is cut off at once with 502, not at the call timeout (regression)', async (t) => {
  const { proxy, port } = await behind(t, (socket) => {
    const timer = setInterval(() => (socket.writable ? socket.write(INTERIM.repeat(20)) : clearInterval(timer)), 5);
    socket.on('close', () => clearInterval(timer));
  }, { timeout: 5_000 });
  const { text, elapsed } = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const reply = only(text);
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], proxyStatus('http_protocol_error'));
  assert.ok(elapsed < 1_000, `answered after ${Math.round(elapsed)} ms`);
  assert.equal(failuresOf(proxy), 1);
});

test('a few interim responses (102, 103 Early Hints) are fine: the final response is relayed', async (t) => {
  const { proxy, port } = await behind(t, (socket) =>
    socket.end(`${INTERIM.repeat(10)}HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n${OK}`),
  );
  const { text } = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const reply = only(text);
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'ok');
  assert.equal(failuresOf(proxy), 0);
});

test('a target that closes without answering: 502 connection_terminated, counted', async (t) => {
  const { proxy, port } = await behind(t, (socket) => socket.end());
  const { text } = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(only(text).headers['proxy-status'], proxyStatus('connection_terminated'));
  assert.equal(failuresOf(proxy), 1);
});

test('failures from broken responses open the circuit like any other failure', async (t) => {
  const target = await rawUpstream(t, (socket) => socket.end('GARBAGE\r\n\r\n'));
  const { proxy, port } = await listening(t, { target: target.url, breaker: { failureThreshold: 3, resetTimeout: 60_000 } });
  for (let i = 0; i < 3; i++) assert.equal(only((await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text).status, 502);
  const refused = only((await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['proxy-status'], proxyStatus('destination_unavailable'));
  assert.equal(proxy.snapshot().targets[0]!.state, 'OPEN');
  assert.equal(target.requests(), 3);
});

test('a TLS target with a self-signed certificate is refused by default: 502 tls_certificate_error, nothing sent', async (t) => {
  const up = await fixture(t, { tls: loadTestCertificate() });
  const proxy = createProxy({ target: up.url });
  const { port } = await proxy.listen(0, '127.0.0.1');
  t.after(() => proxy.close(0));
  const reply = only((await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text);
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], proxyStatus('tls_certificate_error'));
  assert.equal(up.stats().requests, 0);
  assert.equal(failuresOf(proxy), 1);
});

test('the same TLS target works with insecure: true', async (t) => {
  const up = await fixture(t, { tls: loadTestCertificate() });
  const { port } = await listening(t, { target: up.url, insecure: true });
  const reply = only((await raw(port, 'GET /secure HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text);
  assert.equal(reply.status, 200);
  assert.equal(up.stats().requests, 1);
  assert.equal(up.stats().last?.url, '/secure');
});

test('every field of a response head within 16 KiB is relayed, even 2100 of them (no silent count limit)', async (t) => {
  // Short names (base 36) keep 2100 fields under 16 KiB; Node's own client keeps only 2000.
  const fields = Array.from({ length: 2100 }, (_, i) => `x${i.toString(36)}:1\r\n`).join('');
  const { port } = await behind(t, (socket) => socket.end(`HTTP/1.1 200 OK\r\n${fields}Content-Length: 2\r\n\r\nok`));
  const { text } = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const reply = only(text);
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'ok');
  assert.equal(text.match(/\r\nx[0-9a-z]+: 1(?=\r\n)/g)?.length, 2100);
  assert.match(text, new RegExp(`\\r\\nx${(2099).toString(36)}: 1\\r\\n`));
});
