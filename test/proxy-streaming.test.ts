/**
 * Bodies stream through the proxy: trailers, `Expect: 100-continue`, framing for clients that
 * cannot take chunked responses, and (in proxy-memory.test.ts) large bodies in constant memory.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { test, type TestContext } from 'node:test';
import { MAX_INTERIM_RESPONSES } from '../lib/proxy/attempt.js';
import { echo, parseRaw, proxy, rawExchange, request, targetOf, upstream, waitFor } from './proxy-helpers.js';
import { rawTarget } from './support/servers.js';

test('response trailers pass through', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = await request(p.port, '/chunked/100000');
  assert.equal(reply.status, 200);
  assert.equal(reply.body.length, 100_000);
  assert.equal(reply.headers.trailer, 'x-fixture-trailer');
  assert.equal(reply.headers['transfer-encoding'], 'chunked');
  assert.deepEqual(reply.trailers, { 'x-fixture-trailer': 'done' });
});

test('trailers of an empty chunked body pass through', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = await request(p.port, '/chunked/0');
  assert.equal(reply.body.length, 0);
  assert.deepEqual(reply.trailers, { 'x-fixture-trailer': 'done' });
});

test('a HEAD request for a response with a Trailer field gets its headers (regression: crashed the proxy)', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = parseRaw(await rawExchange(p.port, 'HEAD /chunked/10 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  assert.equal(reply.status, 200);
  assert.equal(reply.headers.trailer, undefined);
  assert.equal(reply.body, '');
  assert.equal((await request(p.port, '/')).status, 200, 'the proxy is still serving');
});

test('an HTTP/1.0 client gets a chunked response as a close-delimited body (regression: crashed the proxy)', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = parseRaw(await rawExchange(p.port, 'GET /chunked/10 HTTP/1.0\r\nHost: x\r\n\r\n'));
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['transfer-encoding'], undefined);
  assert.equal(reply.headers.trailer, undefined);
  assert.equal(reply.body, 'x'.repeat(10));
  assert.equal(targetOf(p, up.url).requests.success, 1);
});

test('Content-Length of an upstream answer is relayed', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = await request(p.port, '/bytes/12345');
  assert.equal(reply.headers['content-length'], '12345');
  assert.equal(reply.body.length, 12_345);
});

test('Expect: 100-continue gets 100 from the proxy, then the response', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const events: string[] = [];
  const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: p.port,
      method: 'POST',
      path: '/upload',
      agent: false,
      headers: { expect: '100-continue', 'content-length': 5 },
      signal: AbortSignal.timeout(3_000),
    });
    req.on('error', reject);
    req.on('continue', () => {
      events.push('continue');
      req.end('hello');
    });
    req.on('response', (res) => {
      events.push(`response ${res.statusCode}`);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.flushHeaders();
  });
  assert.deepEqual(events, ['continue', 'response 200']);
  const seen = JSON.parse(reply.body) as { body: string; headers: http.IncomingHttpHeaders };
  assert.equal(seen.body, 'hello');
  assert.equal(seen.headers.expect, undefined);
});

test('a request body is streamed to the target', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const body = 'x'.repeat(50_000);
  const seen = echo(await request(p.port, '/upload', { method: 'PUT', body }));
  assert.equal(seen.bodyLength, 50_000);
  assert.equal(seen.body, body);
});

/** A bare TCP upstream answering every connection with `answer`, for heads the fixture will not send. */
async function rawUpstream(t: TestContext, answer: string): Promise<string> {
  const target = await rawTarget(t, (socket) => socket.once('data', () => socket.end(answer)));
  return target.url;
}

test('an upstream status below 100 gets 502 http_protocol_error (regression: crashed the proxy)', async (t) => {
  const target = await rawUpstream(t, 'HTTP/1.1 099 Weird\r\nContent-Length: 2\r\n\r\nok');
  const p = await proxy(t, { target });
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_protocol_error');
  assert.equal(targetOf(p, target).failures, 1);
});

test('an upstream that breaks HTTP gets 502 http_protocol_error', async (t) => {
  const target = await rawUpstream(t, 'NOT HTTP\r\n\r\n');
  const p = await proxy(t, { target });
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_protocol_error');
});

test('a chunked upstream body that is cut short is a broken body, not a clean end', async (t) => {
  const target = await rawUpstream(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel');
  const p = await proxy(t, { target });
  await assert.rejects(request(p.port, '/'));
  await waitFor('the outcome', () => targetOf(p, target).requests.error === 1);
});

/**
 * Sends a request whose body is still arriving when the proxy answers for the target, then the
 * rest of the body and a second request on the same connection; resolves with what came back and
 * whether the proxy closed the connection.
 */
async function answerMidUpload(port: number): Promise<{ statusLines: string[]; text: string; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let received = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('close', () => (closed = true));
  try {
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${1_000_000}\r\n\r\n${'a'.repeat(1_000)}`);
    await waitFor('the proxy\'s answer', () => received.includes('\r\n\r\n'), 3_000);
    socket.write('a'.repeat(999_000));
    socket.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the connection closed', () => closed, 10_000);
    return { statusLines: received.match(/HTTP\/1\.1 \d{3} [^\r]*/g) ?? [], text: received, closed };
  } finally {
    socket.destroy();
  }
}

test('an answer mid-upload says Connection: close, drops the rest of the body and serves nothing behind it', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url, breaker: { failureThreshold: 10 } });
  const answered = new Promise<void>((resolve) => p.proxy.once('response', () => resolve()));
  const exchange = answerMidUpload(p.port);
  await answered;
  await up.setMode('ok');
  const { statusLines, text, closed } = await exchange;
  assert.deepEqual(statusLines, ['HTTP/1.1 502 Bad Gateway']);
  assert.equal(parseRaw(text).headers.connection, 'close');
  assert.equal(closed, true);
});

test('an upstream that sends endless interim responses gets 502 http_protocol_error', async (t) => {
  const target = await rawUpstream(t, 'HTTP/1.1 102 Processing\r\n\r\n'.repeat(MAX_INTERIM_RESPONSES + 5));
  const p = await proxy(t, { target, timeout: 2_000 });
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_protocol_error');
  assert.equal(targetOf(p, target).failures, 1);
});

test('a few interim responses before the final one are fine', async (t) => {
  const target = await rawUpstream(t, `${'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n'.repeat(2)}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`);
  const p = await proxy(t, { target });
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 200);
  assert.equal(reply.text, 'ok');
});

test('a 101 to a request that asked for no upgrade gets 502 http_protocol_error', async (t) => {
  const target = await rawUpstream(t, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  const p = await proxy(t, { target });
  const reply = await request(p.port, '/');
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_protocol_error');
  assert.equal(targetOf(p, target).failures, 1);
});
