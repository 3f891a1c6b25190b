/** The TLS listener: HTTPS and HTTP/2 clients by ALPN, with the same routing, answers and limits. */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { test } from 'node:test';
import * as tls from 'node:tls';
import { loadTestCertificate } from '../fixtures/certificate.js';
import { renderMetrics } from '../lib/admin/index.js';
import { closeH2, createSecureServer } from '../lib/proxy/server.js';
import { X509Certificate } from 'node:crypto';
import { echo, upstream, waitFor, type Reply } from './proxy-helpers.js';
import { listening } from './support/servers.js';
import { CA, h2Request, h2Session, httpsRequest, startedTlsProxy } from './support/h2.js';

const echoOf = (text: string): ReturnType<typeof echo> => echo({ text } as Reply);

test('an h2 request reaches the target with X-Forwarded-Proto https and :authority as X-Forwarded-Host', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':path': '/a?b=1' });
  assert.equal(reply.status, 200);
  const seen = echoOf(reply.text);
  assert.equal(seen.url, '/a?b=1');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers['x-forwarded-host'], `localhost:${p.port}`);
  assert.ok(seen.rawHeaders.every((name) => !name.startsWith(':')), `pseudo-headers upstream: ${seen.rawHeaders.join(' ')}`);
});

test('an HTTP/1.1 request over TLS reaches the target with X-Forwarded-Proto https', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const reply = await httpsRequest(`${p.url}/h1`);
  assert.equal(reply.status, 200);
  assert.equal(echoOf(reply.text).headers['x-forwarded-proto'], 'https');
});

test('ALPN picks h2 for a client that offers it', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  assert.equal(session.alpnProtocol, 'h2');
});

test('ALPN picks http/1.1 for a client that offers only it', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const reply = await httpsRequest(`${p.url}/`, { ALPNProtocols: ['http/1.1'] });
  assert.equal(reply.alpn, 'http/1.1');
  assert.equal(reply.status, 200);
});

test('a request naming h2 and http/1.1 by ALPN is answered over h2 (server preference)', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const socket = tls.connect({ port: p.port, host: '127.0.0.1', servername: 'localhost', ca: CA, ALPNProtocols: ['h2', 'http/1.1'] });
  t.after(() => socket.destroy());
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  assert.equal(socket.alpnProtocol, 'h2');
});

test('a Host that differs from :authority is refused with 400 (RFC 9113 8.3.1)', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':path': '/', ':authority': `localhost:${p.port}`, host: 'other.example' });
  assert.equal(reply.status, 400);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_request_error');
  assert.equal(up.stats().requests, 0);
});

test('a Host equal to :authority is accepted', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':path': '/', ':authority': `localhost:${p.port}`, host: `LOCALHOST:${p.port}` });
  assert.equal(reply.status, 200);
});

test('host routes match on :authority', async (t) => {
  const a = await upstream(t);
  const b = await upstream(t);
  const p = await startedTlsProxy(t, { routes: [{ match: 'localhost', targets: [a.url] }, { match: '/', targets: [b.url] }] });
  const session = await h2Session(t, p.url);
  assert.equal((await h2Request(session, { ':path': '/' })).status, 200);
  assert.equal(a.stats().requests, 1);
  assert.equal(b.stats().requests, 0);
});

test('an open circuit answers 503 with Proxy-Status and Retry-After over h2', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  p.proxy.breakers.open(up.url);
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':path': '/' });
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=destination_unavailable');
  assert.ok(Number(reply.headers['retry-after']) >= 1, `Retry-After: ${reply.headers['retry-after']}`);
  assert.deepEqual(JSON.parse(reply.text), { error: 'destination_unavailable', target: up.url });
});

test('a 1 MiB response streams whole over h2', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':path': `/chunked/${1024 * 1024}` });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.length, 1024 * 1024);
});

test('a request body without Content-Length is streamed upstream chunked, with its trailers', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  const body = Buffer.alloc(256 * 1024, 'x');
  const reply = await h2Request(session, { ':path': '/upload', ':method': 'POST' }, body, { 'x-checksum': 'abc' });
  const seen = echoOf(reply.text);
  assert.equal(seen.bodyLength, body.length);
  assert.equal(seen.headers['transfer-encoding'], 'chunked');
  assert.deepEqual(seen.trailers, { 'x-checksum': 'abc' });
});

test('a request body with Content-Length goes upstream with it', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':path': '/upload', ':method': 'PUT', 'content-length': '5' }, 'hello');
  const seen = echoOf(reply.text);
  assert.equal(seen.headers['content-length'], '5');
  assert.equal(seen.body, 'hello');
});

test('response trailers reach an h2 client', async (t) => {
  const target = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Sum' });
    res.write('data');
    res.addTrailers({ 'X-Sum': '42' });
    res.end();
  });
  const url = await listening(t, target);
  const p = await startedTlsProxy(t, { target: url });
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':path': '/' });
  assert.equal(reply.text, 'data');
  assert.equal(reply.trailers?.['x-sum'], '42');
});

test('connection-specific response fields are dropped for h2 clients (RFC 9113 8.2.2)', async (t) => {
  const target = http.createServer((_req, res) => {
    res.writeHead(200, ['Connection', 'keep-alive, X-Private', 'Keep-Alive', 'timeout=5', 'X-Private', 'p', 'Upgrade', 'foo', 'X-Kept', 'k']);
    res.end('ok');
  });
  const url = await listening(t, target);
  const p = await startedTlsProxy(t, { target: url });
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':path': '/' });
  assert.equal(reply.status, 200);
  assert.equal(reply.text, 'ok');
  assert.equal(reply.headers['x-kept'], 'k');
  for (const name of ['connection', 'keep-alive', 'x-private', 'upgrade']) assert.equal(reply.headers[name], undefined, name);
});

test('a reason phrase from the target makes no process warning over h2', async (t) => {
  const target = http.createServer((_req, res) => {
    res.writeHead(201, 'Made It', { 'Content-Length': '0' });
    res.end();
  });
  const url = await listening(t, target);
  const p = await startedTlsProxy(t, { target: url });
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning.message);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const session = await h2Session(t, p.url);
  assert.equal((await h2Request(session, { ':path': '/' })).status, 201);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(warnings, []);
});

test('a client that resets its stream aborts the upstream request, uncharged', async (t) => {
  const up = await upstream(t, { mode: 'hang' });
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  const stream = session.request({ ':path': '/slow' });
  stream.on('error', () => {});
  await waitFor('the upstream request', () => up.stats().inFlight === 1);
  stream.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor('the upstream abort', () => up.stats().aborted === 1);
  const target = p.proxy.snapshot().targets[0]!;
  assert.equal(target.requests.aborted, 1);
  assert.equal(target.failures, 0);
  assert.equal(target.inFlight, 0);
});

test('a refusal that closes an HTTP/1.1 connection leaves the other streams of an h2 connection alone', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  const many: http2.OutgoingHttpHeaders = { ':path': '/' };
  for (let i = 0; i < 101; i++) many[`x-field-${i}`] = 'v';
  assert.equal((await h2Request(session, many)).status, 431);
  assert.equal((await h2Request(session, { ':path': '/' })).status, 200);
});

test('CONNECT over h2 is refused with 405', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':method': 'CONNECT', ':authority': 'example.com:443' });
  assert.equal(reply.status, 405);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_request_denied');
  assert.equal(up.stats().requests, 0);
});

test('the snapshot counts requests over TLS by protocol', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  await h2Request(session, { ':path': '/' });
  await h2Request(session, { ':path': '/' });
  await httpsRequest(`${p.url}/`);
  assert.deepEqual(p.proxy.snapshot().tlsRequests, { 'http/1.1': 1, h2: 2 });
});

test('the h2 settings announce the concurrent stream and header list limits', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = http2.connect(p.url, { ca: CA });
  t.after(() => session.destroy());
  const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
  assert.equal(settings.maxConcurrentStreams, 100);
  assert.equal(settings.maxHeaderListSize, 16 * 1024);
});

test('an h2 header list over 16 KiB is refused with 431', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':path': '/', 'x-big': 'a'.repeat(17 * 1024) });
  assert.equal(reply.status, 431);
  assert.equal(up.stats().requests, 0);
});

test('HTTP/1.1 over TLS keeps the head size limit (431)', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const reply = await httpsRequest(`${p.url}/`, { headers: { 'x-big': 'a'.repeat(20 * 1024) } });
  assert.equal(reply.status, 431);
});

test('setCertificate: a new connection gets the new certificate, an open one keeps working', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const first = loadTestCertificate();
  const second = loadTestCertificate('second');
  const old = await h2Session(t, p.url);
  const oldFingerprint = (old.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
  p.proxy.setCertificate(second);
  const fresh = await h2Session(t, p.url, second.cert);
  const newFingerprint = (fresh.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
  assert.equal(newFingerprint, new X509Certificate(second.cert).fingerprint256);
  assert.equal(oldFingerprint, new X509Certificate(first.cert).fingerprint256);
  assert.equal((await h2Request(old, { ':path': '/' })).status, 200);
  assert.equal((await h2Request(fresh, { ':path': '/' })).status, 200);
});

test('setCertificate with a key that does not fit keeps the old certificate', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  assert.throws(() => p.proxy.setCertificate({ cert: loadTestCertificate().cert, key: 'not a key' }));
  assert.equal((await httpsRequest(`${p.url}/`)).status, 200);
});

test('listen() with a certificate Node cannot use rejects', async (t) => {
  const up = await upstream(t);
  const { createProxy } = await import('../lib/index.js');
  const proxy = createProxy({ target: up.url });
  t.after(() => proxy.close(0));
  await assert.rejects(proxy.listen(0, '127.0.0.1', { tls: { cert: 'nope', key: 'nope' } }));
});

test('curl --http2 gets its answer over h2', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const caFile = new URL('../fixtures/tls/cert.pem', import.meta.url).pathname;
  const out = await new Promise<string>((resolve, reject) =>
    execFile('curl', ['--silent', '--show-error', '--http2', '--cacert', caFile, '--write-out', '\n%{http_version}', `${p.url}/curl`], { timeout: 10_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
  const lines = out.split('\n');
  assert.equal(lines.at(-1), '2');
  assert.equal(echoOf(lines.slice(0, -1).join('\n')).headers['x-forwarded-proto'], 'https');
});

test('the metrics count requests over TLS by protocol', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const session = await h2Session(t, p.url);
  await h2Request(session, { ':path': '/' });
  const text = renderMetrics(p.proxy);
  assert.match(text, /^proxy_breaker_tls_requests_total\{protocol="h2"\} 1$/m);
  assert.match(text, /^proxy_breaker_tls_requests_total\{protocol="http\/1.1"\} 0$/m);
});

test('an h2 request body still arriving after the request timeout is reset and the upstream request aborted', async (t) => {
  const up = await upstream(t, { mode: 'hang' });
  const { createProxy } = await import('../lib/index.js');
  const proxy = createProxy({ target: up.url });
  t.after(() => proxy.close(0));
  const server = createSecureServer(loadTestCertificate(), { handler: proxy.handler, upgrade: proxy.upgrade, counted() {} }, () => {}, { requestTimeout: 300, checkInterval: 50 });
  t.after(() => {
    closeH2(server, false);
    server.close();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = await h2Session(t, `https://localhost:${(server.address() as { port: number }).port}`);
  const stream = session.request({ ':path': '/upload', ':method': 'POST' }, { endStream: false });
  stream.write('first piece of a body that never ends');
  // Without the reset, the test ends by this one, with another code.
  stream.setTimeout(5_000, () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  const code = await new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode!)).on('error', () => {}));
  assert.equal(code, http2.constants.NGHTTP2_CANCEL);
  await waitFor('the upstream abort', () => up.stats().aborted === 1);
  assert.equal(proxy.snapshot().targets[0]!.failures, 0);
});

test('an h2 request whose body ended in time is not reset by the request timeout', async (t) => {
  const up = await upstream(t, { mode: { type: 'slow', delay: 500 } });
  const { createProxy } = await import('../lib/index.js');
  const proxy = createProxy({ target: up.url });
  t.after(() => proxy.close(0));
  const server = createSecureServer(loadTestCertificate(), { handler: proxy.handler, upgrade: proxy.upgrade, counted() {} }, () => {}, { requestTimeout: 200, checkInterval: 50 });
  t.after(() => {
    closeH2(server, false);
    server.close();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = await h2Session(t, `https://localhost:${(server.address() as { port: number }).port}`);
  const reply = await h2Request(session, { ':path': '/upload', ':method': 'POST' }, 'whole');
  assert.equal(reply.status, 200);
  assert.equal(echoOf(reply.text).body, 'whole');
});

test('a WebSocket handshake over HTTPS (HTTP/1.1) is tunnelled to the target', async (t) => {
  const up = await upstream(t);
  const p = await startedTlsProxy(t, { target: up.url });
  const socket = tls.connect({ port: p.port, host: '127.0.0.1', servername: 'localhost', ca: CA, ALPNProtocols: ['http/1.1'] });
  t.after(() => socket.destroy());
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  socket.write(`GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await waitFor('the handshake answer', () => received.includes('\r\n\r\n'));
  assert.match(received, /^HTTP\/1\.1 101 /);
  assert.equal(up.stats().requests, 1);
});

test("a redirect to the target's own origin is rewritten to https and :authority for an h2 client", async (t) => {
  const target = http.createServer((req, res) => {
    res.writeHead(302, { Location: `http://${req.headers.host}/next`, 'Content-Length': '0' });
    res.end();
  });
  const url = await listening(t, target);
  const p = await startedTlsProxy(t, { target: url });
  const session = await h2Session(t, p.url);
  const reply = await h2Request(session, { ':path': '/' });
  assert.equal(reply.status, 302);
  assert.equal(reply.headers.location, `https://localhost:${p.port}/next`);
});
