/** A reload that changes a target's trust settings: new connections use them, none opened before is reused. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxy, request, waitFor } from './proxy-helpers.js';
import { PEM, trustedUpstream } from './trust-helpers.js';

const client = { clientCert: PEM.clientCert, clientKey: PEM.clientKey };

test('a reload that drops the client certificate closes the idle connection that had it', async (t) => {
  const up = await trustedUpstream(t, { requireClientCert: true });
  const p = await proxy(t, { target: up.url, ca: PEM.ca, ...client });
  assert.equal((await request(p.port, '/')).status, 200);
  p.proxy.reload({ target: up.url, ca: PEM.ca });
  const reply = await request(p.port, '/');
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=tls_certificate_error');
  assert.equal(up.seen.length, 1);
});

test('a reload that changes ca lets a request in flight finish, then verifies new connections against the new CA', async (t) => {
  const up = await trustedUpstream(t);
  const p = await proxy(t, { target: up.url, ca: PEM.ca });
  const slow = request(p.port, '/slow');
  await waitFor('the target to have /slow', () => up.seen.length > 0);
  p.proxy.reload({ target: up.url, ca: PEM.clientCa });
  assert.equal((await slow).status, 200);
  // Neither the connection that carried /slow nor its TLS session may serve the next request.
  const reply = await request(p.port, '/');
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=tls_certificate_error');
});

test('a reload with the same trust settings keeps the idle connection', async (t) => {
  const up = await trustedUpstream(t, { requireClientCert: true });
  const p = await proxy(t, { target: up.url, ca: PEM.ca, ...client });
  assert.equal((await request(p.port, '/')).status, 200);
  p.proxy.reload({ target: up.url, ca: Buffer.from(PEM.ca), ...client, timeout: 5000 });
  assert.equal((await request(p.port, '/')).status, 200);
  assert.equal(up.handshakes, 1);
});
