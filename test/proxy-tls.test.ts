/** https targets: verified by default, reachable with `insecure: true`, SNI only for names. */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { loadTestCertificate } from '../fixtures/certificate.js';
import { decodeFrame, encodeClientFrame } from '../fixtures/websocket.js';
import { echo, parseRaw, proxy, request, targetOf, upstream, waitFor } from './proxy-helpers.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Node warns DEP0123 once per process: listen from the start, and run the regression test first. */
const warnings: string[] = [];
process.on('warning', (warning: Error & { code?: string }) => void warnings.push(warning.code ?? warning.name));

test('no TLS deprecation warning for a target given by IP address (regression: SNI was the IP)', async (t) => {
  const up = await upstream(t, { tls: loadTestCertificate() });
  const p = await proxy(t, { target: up.url, insecure: true });
  assert.equal((await request(p.port, '/')).status, 200);
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(!warnings.includes('DEP0123'), `warnings: ${warnings.join(', ')}`);
});

test('an https target is reached with insecure: true', async (t) => {
  const up = await upstream(t, { tls: loadTestCertificate() });
  const p = await proxy(t, { target: up.url, insecure: true });
  const reply = await request(p.port, '/secure?x=1');
  assert.equal(reply.status, 200);
  const seen = echo(reply);
  assert.equal(seen.url, '/secure?x=1');
  assert.equal(seen.headers.host, new URL(up.url).host);
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
});

test('an https target with a self-signed certificate gets 502 tls_certificate_error by default', async (t) => {
  const up = await upstream(t, { tls: loadTestCertificate() });
  const p = await proxy(t, { target: up.url });
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=tls_certificate_error');
  assert.deepEqual(JSON.parse(reply.text), { error: 'tls_certificate_error', target: up.url });
  assert.equal(up.stats().requests, 0);
  assert.equal(targetOf(p, up.url).failures, 1);
});

test('an https target named by host name is verified against that name', async (t) => {
  const up = await upstream(t, { tls: loadTestCertificate() });
  const target = `https://localhost:${up.port}`;
  const p = await proxy(t, { target });
  // Still self-signed, so refused: but for the chain, not the name.
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=tls_certificate_error');
});

test('a WebSocket echo works through an https target', async (t) => {
  const up = await upstream(t, { tls: loadTestCertificate() });
  const p = await proxy(t, { target: up.url, insecure: true });
  const socket = net.connect(p.port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => undefined);
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  socket.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await waitFor('the 101', () => received.includes('\r\n\r\n'));
  assert.equal(parseRaw(received.toString('latin1')).status, 101);
  socket.write(encodeClientFrame('over tls'));
  await waitFor('the echo', () => decodeFrame(received.subarray(received.indexOf('\r\n\r\n') + 4)) !== undefined);
  assert.equal(decodeFrame(received.subarray(received.indexOf('\r\n\r\n') + 4))!.payload.toString(), 'over tls');
});


test('a synthetic probe reaches an https target and closes its circuit', async (t) => {
  const up = await upstream(t, { tls: loadTestCertificate(), mode: { type: 'status', status: 500 } });
  const p = await proxy(t, { target: up.url, insecure: true, probePath: '/health', breaker: { failureThreshold: 1, resetTimeout: 50, jitter: 0 } });
  assert.equal((await request(p.port, '/')).status, 500);
  await up.setMode('ok');
  await waitFor('the probe to close the circuit', () => targetOf(p, up.url).state === 'CLOSED');
  assert.equal(up.stats().last?.url, '/health');
  assert.equal((await request(p.port, '/')).status, 200);
});
