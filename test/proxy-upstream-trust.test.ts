/** https targets trusted through `ca`, and mutual TLS with `clientCert` / `clientKey`. */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { parseRaw, proxy, request, targetOf, waitFor } from './proxy-helpers.js';
import { PEM, trustedUpstream } from './trust-helpers.js';

const client = { clientCert: PEM.clientCert, clientKey: PEM.clientKey };

test('a target with a certificate from a private CA gets 502 tls_certificate_error without ca, counted by its breaker', async (t) => {
  const up = await trustedUpstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=tls_certificate_error');
  assert.equal(targetOf(p, up.url).failures, 1);
  assert.equal(up.seen.length, 0);
});

test('a target with a certificate from a private CA is reached with that CA as ca', async (t) => {
  const up = await trustedUpstream(t);
  const p = await proxy(t, { target: up.url, ca: PEM.ca });
  const reply = await request(p.port, '/x');
  assert.equal(reply.status, 200);
  assert.deepEqual(JSON.parse(reply.text), { url: '/x', client: null });
});

test('ca replaces the trusted roots: a CA that did not sign the target is refused', async (t) => {
  const up = await trustedUpstream(t);
  const p = await proxy(t, { target: up.url, ca: [PEM.clientCa] });
  const reply = await request(p.port, '/');
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=tls_certificate_error');
});

test('insecure still reaches a target whose CA is not trusted', async (t) => {
  const up = await trustedUpstream(t);
  const p = await proxy(t, { target: up.url, ca: PEM.clientCa, insecure: true });
  assert.equal((await request(p.port, '/')).status, 200);
});

test('a target that requires a client certificate refuses the proxy without one: 502 tls_certificate_error, counted', async (t) => {
  const up = await trustedUpstream(t, { requireClientCert: true });
  const p = await proxy(t, { target: up.url, ca: PEM.ca });
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=tls_certificate_error');
  assert.equal(targetOf(p, up.url).failures, 1);
  assert.equal(up.seen.length, 0);
});

test('a target that requires a client certificate is reached with clientCert and clientKey', async (t) => {
  const up = await trustedUpstream(t, { requireClientCert: true });
  const p = await proxy(t, { target: up.url, ca: PEM.ca, ...client });
  const reply = await request(p.port, '/mtls');
  assert.equal(reply.status, 200);
  assert.deepEqual(JSON.parse(reply.text), { url: '/mtls', client: 'proxy-breaker test client' });
});

test("a route's trust settings apply to that route's targets only", async (t) => {
  const [a, b] = [await trustedUpstream(t, { requireClientCert: true }), await trustedUpstream(t)];
  const p = await proxy(t, {
    routes: [
      { match: '/a', targets: a.url, ca: PEM.ca, ...client },
      { match: '/b', targets: b.url },
    ],
  });
  assert.equal((await request(p.port, '/a')).status, 200);
  assert.equal((await request(p.port, '/b')).headers['proxy-status'], 'proxy-breaker; error=tls_certificate_error');
  assert.deepEqual(a.seen, [{ url: '/a', client: 'proxy-breaker test client' }]);
});

test('a route overrides the top-level ca', async (t) => {
  const [a, b] = [await trustedUpstream(t), await trustedUpstream(t)];
  const p = await proxy(t, {
    ca: PEM.ca,
    routes: [
      { match: '/a', targets: a.url },
      { match: '/b', targets: b.url, ca: PEM.clientCa },
    ],
  });
  assert.equal((await request(p.port, '/a')).status, 200);
  assert.equal((await request(p.port, '/b')).headers['proxy-status'], 'proxy-breaker; error=tls_certificate_error');
});

test('a synthetic probe to an mTLS target presents the client certificate', async (t) => {
  const up = await trustedUpstream(t, { requireClientCert: true });
  up.status = 500;
  const p = await proxy(t, { target: up.url, ca: PEM.ca, ...client, probePath: '/health', breaker: { failureThreshold: 1, resetTimeout: 50, jitter: 0 } });
  assert.equal((await request(p.port, '/')).status, 500);
  up.status = 200;
  await waitFor('the probe to close the circuit', () => targetOf(p, up.url).state === 'CLOSED');
  assert.deepEqual(up.seen.at(-1), { url: '/health', client: 'proxy-breaker test client' });
});

test('a WebSocket upgrade to an mTLS target presents the client certificate', async (t) => {
  const up = await trustedUpstream(t, { requireClientCert: true });
  const p = await proxy(t, { target: up.url, ca: PEM.ca, ...client });
  const socket = net.connect(p.port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => undefined);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await waitFor('the 101', () => received.includes('\r\n\r\n'));
  assert.equal(parseRaw(received).status, 101);
  socket.write('ping over mtls');
  await waitFor('the echo', () => received.endsWith('ping over mtls'));
  assert.deepEqual(up.seen, [{ url: '/ws', client: 'proxy-breaker test client' }]);
});

test('a target that does not trust the client certificate it got and closes gets 502 connection_terminated, counted', async (t) => {
  const up = await trustedUpstream(t, { requireClientCert: true });
  const p = await proxy(t, { target: up.url, ca: PEM.ca, clientCert: PEM.selfSignedCert, clientKey: PEM.selfSignedKey });
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_terminated');
  assert.equal(targetOf(p, up.url).failures, 1);
  assert.equal(up.seen.length, 0);
});
