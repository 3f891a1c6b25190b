/**
 * The upstream connection pool (lib/http1/connection.ts) against scripted TCP and TLS servers on
 * loopback: when a connection is reused and when it must not be, how request bodies are framed,
 * backpressure, hang-ups, and closing.
 */
import * as assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import * as net from 'node:net';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import * as tls from 'node:tls';
import { loadTestCertificate } from '../fixtures/certificate.js';
import { startUpstream } from '../fixtures/upstream.js';
import { UpstreamPool, type PoolOptions, type ResponseSink, type UpstreamConnection } from '../lib/http1/connection.js';
import type { ResponseHead } from '../lib/http1/response-parser.js';
import { createProxy } from '../lib/index.js';
import { request } from './proxy-helpers.js';
import { delay, waitFor } from './lifecycle-helpers.js';

const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/** Records what one response delivered. */
class Recorder implements ResponseSink {
  readonly events: string[] = [];
  idleTicks = 0;
  head: ResponseHead | undefined;
  readonly chunks: Buffer[] = [];
  trailers: string[] | undefined;
  error: (Error & { code?: string }) | undefined;
  readonly done: Promise<void>;
  onData: ((chunk: Buffer) => void) | undefined;
  #resolve!: () => void;

  constructor() {
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  upstreamInterim(): void {
    this.events.push('interim');
  }
  upstreamHead(head: ResponseHead): void {
    this.events.push(`head ${head.statusCode}`);
    this.head = head;
  }
  upstreamData(chunk: Buffer, last: boolean): void {
    if (chunk.length > 0) this.chunks.push(Buffer.from(chunk));
    if (last) this.events.push('last');
    this.onData?.(chunk);
  }
  upstreamEnd(trailers: string[] | undefined): void {
    this.events.push('end');
    this.trailers = trailers;
    this.#resolve();
  }
  upstreamError(error: Error & { code?: string }): void {
    this.events.push(`error ${error.code}`);
    this.error = error;
    this.#resolve();
  }
}

interface Scripted {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Bytes received, per connection. */
  received(): string[];
  sockets: net.Socket[];
}

/**
 * A server that calls `respond(socket, text, index)` whenever a connection's received bytes
 * contain one more complete request head than it has answered.
 */
async function scripted(t: TestContext, respond: (socket: net.Socket, received: string, connection: number) => void, secure = false): Promise<Scripted> {
  const received: string[] = [];
  const sockets: net.Socket[] = [];
  const onConnection = (socket: net.Socket): void => {
    const index = received.push('') - 1;
    sockets.push(socket);
    let answered = 0;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received[index] += chunk.toString('latin1');
      const heads = received[index]!.split('\r\n\r\n').length - 1;
      if (heads > answered) {
        answered = heads;
        respond(socket, received[index]!, index);
      }
    });
  };
  const server = secure ? tls.createServer(loadTestCertificate(), onConnection) : net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => received.length, received: () => [...received], sockets };
}

function pool(t: TestContext, port: number, options: Partial<PoolOptions> = {}): UpstreamPool {
  const made = new UpstreamPool({ host: '127.0.0.1', port, maxIdle: 16, ...options });
  t.after(() => made.close());
  return made;
}

async function exchange(from: UpstreamPool, head = GET, noBody = false): Promise<{ recorder: Recorder; connection: UpstreamConnection }> {
  const recorder = new Recorder();
  const connection = from.acquire();
  connection.send(recorder, head, noBody, undefined, 0);
  await recorder.done;
  return { recorder, connection };
}

test('a keep-alive connection carries the next request; `reused` says so', async (t) => {
  const server = await scripted(t, (socket) => socket.write(OK));
  const upstream = pool(t, server.port);
  const first = await exchange(upstream);
  assert.deepEqual(first.recorder.events, ['head 200', 'last', 'end']);
  assert.equal(first.recorder.body, 'ok');
  assert.equal(first.connection.reused, false);
  assert.equal(upstream.idleCount, 1);
  const second = await exchange(upstream);
  assert.equal(second.connection, first.connection);
  assert.equal(second.connection.reused, true);
  assert.equal(server.connections(), 1);
  assert.equal(server.received()[0], GET.repeat(2));
});

test('the most recently used idle connection is reused first (LIFO)', async (t) => {
  const server = await scripted(t, (socket) => setTimeout(() => socket.write(OK), 5));
  const upstream = pool(t, server.port);
  const a = upstream.acquire();
  const b = upstream.acquire();
  const [ra, rb] = [new Recorder(), new Recorder()];
  a.send(ra, GET, false, undefined, 0);
  await ra.done;
  b.send(rb, GET, false, undefined, 0);
  await rb.done;
  assert.equal(upstream.idleCount, 2);
  assert.equal(upstream.acquire(), b);
});

for (const [what, response] of [
  ['Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'],
  ['an HTTP/1.0 response without keep-alive', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'],
  ['a body delimited by the close', 'HTTP/1.1 200 OK\r\n\r\nok'],
  ['Keep-Alive: timeout=1 (expires within the 1 s margin)', 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok'],
  ['bytes after the response that nobody asked for', `${OK}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nxx`],
] as const) {
  test(`a connection is not reused after ${what}`, async (t) => {
    const server = await scripted(t, (socket) => {
      socket.write(response);
      if (response.includes('\r\n\r\nok') && !response.includes('Length')) socket.end();
    });
    const upstream = pool(t, server.port);
    const first = await exchange(upstream);
    assert.equal(first.recorder.body, 'ok');
    assert.deepEqual(first.recorder.events.slice(-1), ['end']);
    const second = await exchange(upstream);
    assert.notEqual(second.connection, first.connection);
    assert.equal(second.connection.reused, false);
    assert.equal(server.connections(), 2);
  });
}

test('a connection is reused within its Keep-Alive timeout', async (t) => {
  const server = await scripted(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 2\r\n\r\nok'));
  const upstream = pool(t, server.port);
  const first = await exchange(upstream);
  const second = await exchange(upstream);
  assert.equal(second.connection, first.connection);
  assert.equal(server.connections(), 1);
});

test('a chunked request body is framed chunk by chunk and ended with a last chunk', async (t) => {
  const server = await scripted(t, (socket, received) => {
    if (received.endsWith('0\r\n\r\n')) socket.write(OK);
  });
  // The head ends with CRLF CRLF, and so does the last chunk: answer only after that one.
  const upstream = pool(t, server.port);
  const body = new PassThrough();
  const recorder = new Recorder();
  const head = 'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
  upstream.acquire().send(recorder, head, false, body as unknown as IncomingMessage, -1);
  body.write('hello');
  await delay(10);
  body.write(Buffer.alloc(0)); // must not end the body early
  body.end(' world!');
  await recorder.done;
  assert.equal(recorder.body, 'ok');
  assert.equal(server.received()[0], `${head}5\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n`);
  assert.equal(upstream.idleCount, 1, 'the request was fully sent: reusable');
});

test('a Content-Length request body is sent as it is', async (t) => {
  const server = await scripted(t, (socket, received) => {
    if (received.endsWith('abcdef')) socket.write(OK);
  });
  const upstream = pool(t, server.port);
  const body = new PassThrough();
  const recorder = new Recorder();
  const head = 'PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n';
  upstream.acquire().send(recorder, head, false, body as unknown as IncomingMessage, 6);
  body.write('abc');
  body.end('def');
  await recorder.done;
  assert.equal(server.received()[0], `${head}abcdef`);
});

test('a response that completes before the request body was sent closes the connection and drops the rest of the body', async (t) => {
  const server = await scripted(t, (socket) => socket.write('HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n'));
  const upstream = pool(t, server.port);
  const body = new PassThrough();
  const recorder = new Recorder();
  const connection = upstream.acquire();
  connection.send(recorder, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n', false, body as unknown as IncomingMessage, 100_000);
  body.write('x'.repeat(10));
  await recorder.done;
  assert.equal(recorder.head?.statusCode, 413);
  await waitFor('the connection to close', () => upstream.size === 0);
  assert.equal(upstream.idleCount, 0);
  // The rest of the body is read and dropped, not left to stall the client's connection.
  assert.equal(body.listenerCount('data'), 0);
  body.write('y'.repeat(1000));
  await delay(5);
  assert.equal(body.readableLength, 0);
});

test('a slow reader: pause() stops the response, resume() goes on, nothing is lost', async (t) => {
  const size = 4 * 1024 * 1024;
  const server = await scripted(t, (socket) => {
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
    socket.write(Buffer.alloc(size, 'z'));
  });
  const upstream = pool(t, server.port);
  const recorder = new Recorder();
  const connection = upstream.acquire();
  let paused = false;
  recorder.onData = () => {
    if (!paused) {
      paused = true;
      connection.pause();
    }
  };
  connection.send(recorder, GET, false, undefined, 0);
  await waitFor('the first body bytes', () => paused);
  await delay(50);
  const whilePaused = recorder.chunks.length;
  await delay(50);
  assert.equal(recorder.chunks.length, whilePaused, 'no data while paused');
  assert.ok(Buffer.concat(recorder.chunks).length < size, 'not all of it arrived while paused');
  connection.resume();
  await recorder.done;
  assert.equal(Buffer.concat(recorder.chunks).length, size);
  assert.equal(upstream.idleCount, 1);
});

test('an idle connection the target closes leaves the pool', async (t) => {
  const server = await scripted(t, (socket) => socket.write(OK));
  const upstream = pool(t, server.port);
  await exchange(upstream);
  assert.equal(upstream.idleCount, 1);
  server.sockets[0]!.end();
  await waitFor('the pool to drop it', () => upstream.size === 0 && upstream.idleCount === 0);
});

test('bytes on an idle connection condemn it', async (t) => {
  const server = await scripted(t, (socket) => socket.write(OK));
  const upstream = pool(t, server.port);
  const { connection } = await exchange(upstream);
  server.sockets[0]!.write('HTTP/1.1 200 OK\r\n');
  await waitFor('the pool to drop it', () => upstream.size === 0);
  assert.equal(connection.usable(), false);
});

test('a hang-up before the head is ECONNRESET "socket hang up"; mid-body it is ECONNRESET "aborted"', async (t) => {
  const silent = await scripted(t, (socket) => socket.end());
  const before = await exchange(pool(t, silent.port));
  assert.equal(before.recorder.error?.code, 'ECONNRESET');
  assert.equal(before.recorder.error?.message, 'socket hang up');

  const cut = await scripted(t, (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
  const during = await exchange(pool(t, cut.port));
  assert.deepEqual(during.recorder.events, ['head 200', 'error ECONNRESET']);
  assert.equal(during.recorder.error?.message, 'aborted');
});

test('a connection the target resets right after a reused request reports ECONNRESET with reused set', async (t) => {
  let served = 0;
  const server = await scripted(t, (socket) => (served++ === 0 ? socket.write(OK) : socket.resetAndDestroy()));
  const upstream = pool(t, server.port);
  await exchange(upstream);
  const second = await exchange(upstream);
  assert.equal(second.connection.reused, true);
  assert.equal(second.recorder.error?.code, 'ECONNRESET');
});

test('a refused connection reports ECONNREFUSED', async (t) => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as net.AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const { recorder } = await exchange(pool(t, port));
  assert.equal(recorder.error?.code, 'ECONNREFUSED');
});

test('a parse error reaches the sink with its HPE_ code and closes the connection', async (t) => {
  const server = await scripted(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok'));
  const upstream = pool(t, server.port);
  const { recorder } = await exchange(upstream);
  assert.equal(recorder.error?.code, 'HPE_UNEXPECTED_CONTENT_LENGTH');
  await waitFor('the connection to close', () => upstream.size === 0);
});

test('abort() from the sink stops every later callback and closes the connection', async (t) => {
  const server = await scripted(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab'));
  const upstream = pool(t, server.port);
  const recorder = new Recorder();
  const connection = upstream.acquire();
  recorder.onData = () => connection.abort();
  connection.send(recorder, GET, false, undefined, 0);
  await waitFor('the first body bytes', () => recorder.chunks.length > 0);
  server.sockets[0]?.write('cd');
  await delay(20);
  assert.deepEqual(recorder.events, ['head 200']);
  assert.equal(upstream.size, 0);
});

test('a HEAD response with Content-Length completes at the head and keeps the connection', async (t) => {
  const server = await scripted(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'));
  const upstream = pool(t, server.port);
  const { recorder } = await exchange(upstream, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n', true);
  assert.deepEqual(recorder.events, ['head 200', 'last', 'end']);
  assert.equal(upstream.idleCount, 1);
});

test('chunked responses pass their trailers on', async (t) => {
  const server = await scripted(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 1\r\n\r\n'));
  const { recorder } = await exchange(pool(t, server.port));
  assert.equal(recorder.body, 'ok');
  assert.deepEqual(recorder.trailers, ['X-Sum', '1']);
});

test('close() destroys idle and busy connections; the busy one\'s sink hears of it', async (t) => {
  const server = await scripted(t, (socket, _received, index) => (index === 0 ? socket.write(OK) : undefined));
  const upstream = pool(t, server.port);
  await exchange(upstream);
  const busy = upstream.acquire(); // the idle one
  const recorder = new Recorder();
  busy.send(recorder, GET, false, undefined, 0);
  upstream.close();
  await recorder.done;
  assert.equal(recorder.error?.code, 'ECONNRESET');
  assert.equal(upstream.size, 0);
  assert.equal(upstream.idleCount, 0);
});

test('idle connections do not keep the process alive (unref), busy ones do (ref)', async (t) => {
  const server = await scripted(t, (socket) => socket.write(OK));
  const upstream = pool(t, server.port);
  const { connection } = await exchange(upstream);
  const socket = connection.socket as net.Socket & { _handle?: { hasRef(): boolean } };
  assert.equal(socket._handle?.hasRef(), false);
  assert.equal(upstream.acquire(), connection);
  assert.equal(socket._handle?.hasRef(), true);
});

test('TLS: a second connection resumes the first one\'s session', async (t) => {
  const server = await scripted(t, (socket) => socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'), true);
  const upstream = pool(t, server.port, { tls: { servername: undefined, rejectUnauthorized: false } });
  const resumed: boolean[] = [];
  for (let i = 0; i < 2; i++) {
    const recorder = new Recorder();
    const connection = upstream.acquire();
    const socket = connection.socket as tls.TLSSocket;
    socket.once('secureConnect', () => resumed.push(socket.isSessionReused()));
    connection.send(recorder, GET, false, undefined, 0);
    await recorder.done;
    assert.equal(recorder.body, 'ok');
  }
  assert.deepEqual(resumed, [false, true]);
});

test('TLS: an unverifiable certificate is refused by default', async (t) => {
  const server = await scripted(t, (socket) => socket.write(OK), true);
  const { recorder } = await exchange(pool(t, server.port, { tls: { servername: undefined, rejectUnauthorized: true } }));
  assert.match(recorder.error?.code ?? '', /CERT|SELF_SIGNED/);
  assert.equal(server.received().filter((text) => text !== '').length, 0);
});

test('through the proxy: sequential requests share one upstream connection', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const proxy = createProxy({ target: up.url });
  const { port } = await proxy.listen(0, '127.0.0.1');
  t.after(() => proxy.close(100));
  for (let i = 0; i < 10; i++) assert.equal((await request(port, `/n${i}`)).status, 200);
  assert.equal(up.stats().requests, 10);
  assert.equal(up.stats().connections, 1);
  assert.deepEqual(proxy.snapshot().targets[0]!.connections, { busy: 0, idle: 1, opened: 1 });
});

test('a connection paused on its response\'s last piece is read again for the next request (regression)', { timeout: 2_000 }, async (t) => {
  const server = await scripted(t, (socket) => socket.write(OK));
  const upstream = pool(t, server.port);
  const recorder = new Recorder();
  const connection = upstream.acquire();
  recorder.onData = () => connection.pause(); // a slow client: res.write() said false
  connection.send(recorder, GET, false, undefined, 0);
  await recorder.done;
  assert.equal(upstream.idleCount, 1);
  const next = await exchange(upstream);
  assert.equal(next.connection, connection);
  assert.deepEqual(next.recorder.events, ['head 200', 'last', 'end']);
});

/** Node's own record of the socket's TCP_NODELAY setting (net.js keeps it under this symbol). */
function noDelay(socket: net.Socket): boolean | undefined {
  const symbol = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'kSetNoDelay');
  return symbol === undefined ? undefined : (socket as unknown as Record<symbol, boolean>)[symbol];
}

test('a long request body streams with TCP coalescing (NODELAY off), and NODELAY is back on once it is sent', { timeout: 5_000 }, async (t) => {
  const size = 256 * 1024;
  const server = await scripted(t, (socket, received) => {
    // Called with the bytes up to the head's chunk; answer once the whole body is in.
    let bodyBytes = received.length - (received.indexOf('\r\n\r\n') + 4);
    socket.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      if (bodyBytes === size) socket.write(OK);
    });
  });
  const upstream = pool(t, server.port);
  const body = new PassThrough();
  const recorder = new Recorder();
  const connection = upstream.acquire();
  assert.equal(noDelay(connection.socket), true, 'small requests go out at once');
  connection.send(recorder, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`, false, body as unknown as IncomingMessage, size);
  body.write(Buffer.alloc(size / 2, 'a'));
  await delay(5);
  assert.equal(noDelay(connection.socket), false, 'coalescing while the body streams');
  body.end(Buffer.alloc(size / 2, 'b'));
  await recorder.done;
  assert.equal(recorder.body, 'ok');
  assert.equal(server.received()[0]!.length - server.received()[0]!.indexOf('\r\n\r\n') - 4, size);
  assert.equal(noDelay(connection.socket), true);
  assert.equal(upstream.idleCount, 1);
});
