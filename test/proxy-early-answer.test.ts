/**
 * An answer that comes before the client finished its upload (fastify-reply-from's
 * test/incomplete-request.test.js): it says `Connection: close`, and the connection closes after a
 * bounded linger, whatever the client keeps sending; a body that does arrive whole is answered whole.
 */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { test, type TestContext } from 'node:test';
import { LINGER_TIME_MS } from '../lib/proxy/linger.js';
import { parseRaw, proxy } from './proxy-helpers.js';
import { rawTarget } from './support/servers.js';

/** Generous bound for "closed after the linger" on a busy machine. */
const CLOSED_WITHIN = LINGER_TIME_MS + 5_000;

/** A target that answers `early` as soon as the request starts to arrive, without reading the body. */
async function earlyTarget(t: TestContext): Promise<string> {
  const target = await rawTarget(t, (socket) => socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly')));
  return target.url;
}

/**
 * Sends `head` and resolves with everything received and whether the connection closed within
 * the bound. A client that sends on (`whileOpen`) allows half-open connections, so it does not
 * close when the proxy half-closes: it sees the close when its next write meets a closed socket,
 * and whatever closes the connection is the proxy's doing.
 */
function client(port: number, head: string, whileOpen?: (socket: net.Socket) => void): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: whileOpen !== undefined });
    socket.write(head);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, CLOSED_WITHIN);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    whileOpen?.(socket);
  });
}

const UPLOAD_HEAD = 'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\nConnection: keep-alive\r\n\r\n';

test('an answer before the upload ended says Connection: close, comes whole, and the proxy half-closes after it', async (t) => {
  const p = await proxy(t, { target: await earlyTarget(t) });
  const { text, closed } = await client(p.port, `${UPLOAD_HEAD}a`);
  assert.equal(closed, true);
  const { status, headers, body } = parseRaw(text);
  assert.equal(status, 200);
  assert.equal(headers.connection, 'close');
  assert.equal(body, 'early');
});

test('a client that keeps sending slowly after an early answer is closed within the linger bound', async (t) => {
  const p = await proxy(t, { target: await earlyTarget(t) });
  let sender: ReturnType<typeof setInterval> | undefined;
  const { text, closed } = await client(p.port, `${UPLOAD_HEAD}a`, (socket) => {
    sender = setInterval(() => socket.writable && socket.write('a'), 100);
  });
  clearInterval(sender);
  assert.equal(closed, true);
  const { status, headers, body } = parseRaw(text);
  assert.equal(status, 200);
  assert.equal(headers.connection, 'close');
  assert.equal(body, 'early');
});

test('a client that sends its small body quickly after the head still gets the whole answer', async (t) => {
  const p = await proxy(t, { target: await earlyTarget(t) });
  const { text, closed } = await client(p.port, 'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n', (socket) => {
    setTimeout(() => socket.write('0123456789'), 20);
    // Then a byte now and then, to learn when the proxy closed (a request pipelined behind, say).
    const probe = setInterval(() => (socket.writable ? socket.write('x') : clearInterval(probe)), 100);
    socket.once('close', () => clearInterval(probe));
  });
  assert.equal(closed, true);
  const { status, headers, body } = parseRaw(text);
  assert.equal(status, 200);
  assert.equal(headers.connection, 'close');
  assert.equal(body, 'early');
});

test('a client that sends fast after an early answer is cut off after the linger byte budget', async (t) => {
  const p = await proxy(t, { target: await earlyTarget(t) });
  const length = 256 * 1024 * 1024;
  let delivered = false;
  const { text, closed } = await client(p.port, `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${length}\r\n\r\n`, (socket) => {
    const piece = Buffer.alloc(1024 * 1024, 'a');
    let sent = 0;
    const pump = (): void => {
      while (sent < length && socket.writable) {
        sent += piece.length;
        const last = sent >= length;
        if (!socket.write(piece, last ? (error) => (delivered = error == null) : undefined)) return;
      }
    };
    socket.on('drain', pump);
    pump();
  });
  assert.equal(closed, true);
  // Far more than the budget was on its way: the proxy closed before taking all of it.
  assert.equal(delivered, false);
  assert.equal(parseRaw(text).body, 'early');
});
