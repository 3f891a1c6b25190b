/**
 * The idle timeout (`idleTimeout`): a body that moves no byte for that long, either way, ends the
 * exchange. The side the proxy was waiting on is blamed: a stalled target is charged, a stalled
 * client is not. Upstreams here are raw TCP servers that can stall where the fixture cannot, and
 * that say when the proxy closed their socket.
 */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { test, type TestContext } from 'node:test';
import type { ProxyErrorInfo, ResponseInfo } from '../lib/index.js';
import { parseRaw, proxy, targetOf, upstream, waitFor } from './proxy-helpers.js';
import { rawTarget } from './support/servers.js';

/** Generous bound for "closed soon after the idle timeout" on a busy machine. */
const WITHIN = 5_000;

/** A client connection that records what it received and when the proxy closed it. */
function rawClient(port: number, first: string): { received: () => string; closed: Promise<void>; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1');
  // Queued until connected, and before anything the test writes next.
  socket.write(first);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { received: () => text, closed, socket };
}

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${WITHIN} ms`)), WITHIN)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('a response body that stalls mid-way is cut off, its upstream socket closed, and the target charged with body_timeout', async (t) => {
  const target = await rawTarget(t, (socket) => socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabcd')));
  const p = await proxy(t, { target: target.url, idleTimeout: 200, breaker: { failureThreshold: 5 } });
  const errors: ProxyErrorInfo[] = [];
  const responses: ResponseInfo[] = [];
  p.proxy.on('proxyError', (info) => errors.push(info));
  p.proxy.on('response', (info) => responses.push(info));
  const client = rawClient(p.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await bounded(client.closed, 'the client connection closed');
  const { status, body } = parseRaw(client.received());
  assert.equal(status, 200);
  assert.equal(body, 'abcd');
  await waitFor('the upstream socket closed', () => target.closed === 1, WITHIN);
  const snapshot = targetOf(p, target.url);
  assert.equal(snapshot.requests.body_timeout, 1);
  assert.equal(snapshot.failures, 1);
  assert.deepEqual(
    errors.map((info) => [info.error.code, info.error.type]),
    [['ERR_UPSTREAM_IDLE_TIMEOUT', 'http_response_timeout']],
  );
  assert.deepEqual(
    responses.map((info) => [info.status, info.outcome]),
    [[200, 'body_timeout']],
  );
});

test('a client that stalls its upload gets 408, its upstream socket is closed, and the target is not charged', async (t) => {
  // The target reads the request and waits for the rest of its body, as any would.
  const target = await rawTarget(t, (socket) => socket.resume());
  const p = await proxy(t, { target: target.url, idleTimeout: 200 });
  const responses: ResponseInfo[] = [];
  p.proxy.on('response', (info) => responses.push(info));
  const client = rawClient(p.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabcd');
  await bounded(client.closed, 'the client connection closed');
  const { status, headers } = parseRaw(client.received());
  assert.equal(status, 408);
  assert.equal(headers['proxy-status'], 'proxy-breaker; error=http_request_error');
  assert.equal(headers.connection, 'close');
  await waitFor('the upstream socket closed', () => target.closed === 1, WITHIN);
  const snapshot = targetOf(p, target.url);
  assert.equal(snapshot.failures, 0);
  assert.equal(snapshot.requests.aborted, 1);
  assert.deepEqual(
    responses.map((info) => [info.status, info.outcome]),
    [[408, 'aborted']],
  );
});

test('a slow upload that keeps moving waits for the target as long as it takes, and the call timeout starts once it is sent', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url, idleTimeout: 1_000, timeout: 100 });
  const client = rawClient(p.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nConnection: close\r\n\r\n');
  // Six bytes 60 ms apart: longer in all than the call timeout, never idle for the idle timeout.
  for (const byte of 'abcdef') {
    await new Promise((resolve) => setTimeout(resolve, 60));
    client.socket.write(byte);
  }
  await bounded(client.closed, 'the answer');
  const { status, body } = parseRaw(client.received());
  assert.equal(status, 200);
  assert.equal(JSON.parse(body).body, 'abcdef');
});

test('a target that stops reading the upload before answering gets 504 and is charged', async (t) => {
  // Never reads: the proxy's writes fill the socket buffers and the upload waits on the target.
  const stalled: net.Socket[] = [];
  const target = await rawTarget(t, (socket) => {
    socket.pause();
    stalled.push(socket);
  });
  const p = await proxy(t, { target: target.url, idleTimeout: 200, breaker: { failureThreshold: 5 } });
  const length = 64 * 1024 * 1024;
  const client = rawClient(p.port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`);
  const piece = Buffer.alloc(1024 * 1024, 'a');
  // Keep sending as the proxy takes it, until every buffer on the way is full.
  let sent = 0;
  const pump = (): void => {
    while (sent < length && !client.socket.destroyed) {
      sent += piece.length;
      if (!client.socket.write(piece)) return;
    }
  };
  client.socket.on('drain', pump);
  pump();
  await waitFor('an answer', () => client.received().includes('\r\n\r\n'), WITHIN);
  const { status, headers } = parseRaw(client.received());
  assert.equal(status, 504);
  assert.equal(headers['proxy-status'], 'proxy-breaker; error=http_response_timeout');
  assert.equal(headers.connection, 'close');
  // A paused socket hears of the close only once it reads again.
  for (const socket of stalled) socket.resume();
  await waitFor('the upstream socket closed', () => target.closed === 1, WITHIN);
  const snapshot = targetOf(p, target.url);
  assert.equal(snapshot.failures, 1);
  assert.equal(snapshot.requests.timeout, 1);
  client.socket.destroy();
});

test('a client that stops reading a streamed response is cut off and the target is not charged', async (t) => {
  // An endless body, written as fast as the proxy takes it.
  const target = await rawTarget(t, (socket) =>
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n');
      const piece = Buffer.alloc(64 * 1024, 'b');
      const pump = (): void => {
        while (!socket.destroyed && socket.write(piece));
      };
      socket.on('drain', pump);
      pump();
    }),
  );
  const p = await proxy(t, { target: target.url, idleTimeout: 200 });
  const client = rawClient(p.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('the response head', () => client.received().includes('\r\n\r\n'), WITHIN);
  client.socket.pause();
  await waitFor('the upstream socket closed', () => target.closed === 1, WITHIN);
  const snapshot = targetOf(p, target.url);
  assert.equal(snapshot.failures, 0);
  assert.equal(snapshot.requests.aborted, 1);
  client.socket.destroy();
});

test('a client that stalls its upload while the target streams its answer is cut off, and the target is not charged', async (t) => {
  // A full-duplex target: it answers at once and would go on once more of the body came.
  const target = await rawTarget(t, (socket) => socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nab')));
  const p = await proxy(t, { target: target.url, idleTimeout: 200 });
  const client = rawClient(p.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabcd');
  await bounded(client.closed, 'the client connection closed');
  assert.equal(parseRaw(client.received()).status, 200);
  await waitFor('the upstream socket closed', () => target.closed === 1, WITHIN);
  const snapshot = targetOf(p, target.url);
  assert.equal(snapshot.failures, 0);
  assert.equal(snapshot.requests.aborted, 1);
});

test('a route sets its own idle timeout over the proxy-wide one', async (t) => {
  const target = await rawTarget(t, (socket) => socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab')));
  const p = await proxy(t, { routes: [{ match: '/', targets: target.url, idleTimeout: 200 }], idleTimeout: 600_000 });
  const client = rawClient(p.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await bounded(client.closed, 'the client connection closed by the route idle timeout');
  assert.equal(targetOf(p, target.url).requests.body_timeout, 1);
});
