/**
 * Resource limits under hostile clients: oversized heads, slowloris and slow bodies, many idle
 * connections, and clients that keep their half of a connection open after the proxy answered.
 * The timeouts Node enforces are long in production (SERVER_LIMITS); the slow-client tests build
 * their own server with short ones around `proxy.handler`, as an embedding application would.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { test, type TestContext } from 'node:test';
import { createProxy, SERVER_LIMITS } from '../../lib/index.js';
import { createServer } from '../../lib/proxy/proxy.js';
import { delay, fixture, gc, only, openFds, portOf, raw, rawUpstream, responses, setup, waitFor } from './helpers.js';

test('the server proxy.listen() makes applies SERVER_LIMITS', async (t) => {
  const { proxy } = await setup(t);
  const server = createServer(proxy);
  assert.equal(server.headersTimeout, SERVER_LIMITS.headersTimeout);
  assert.equal(server.requestTimeout, SERVER_LIMITS.requestTimeout);
  assert.equal(server.keepAliveTimeout, SERVER_LIMITS.keepAliveTimeout);
  assert.equal(server.maxRequestsPerSocket, SERVER_LIMITS.maxRequestsPerSocket);
  assert.equal((server as http.Server & { maxHeaderSize?: number }).maxHeaderSize ?? http.maxHeaderSize, SERVER_LIMITS.maxHeaderSize);
  assert.deepEqual(
    { headersTimeout: 10_000, requestTimeout: 300_000, keepAliveTimeout: 5_000, maxHeaderSize: 16_384, connectionsCheckingInterval: 1_000, maxHeaderFields: 100 },
    {
      headersTimeout: SERVER_LIMITS.headersTimeout,
      requestTimeout: SERVER_LIMITS.requestTimeout,
      keepAliveTimeout: SERVER_LIMITS.keepAliveTimeout,
      maxHeaderSize: SERVER_LIMITS.maxHeaderSize,
      connectionsCheckingInterval: SERVER_LIMITS.connectionsCheckingInterval,
      maxHeaderFields: SERVER_LIMITS.maxHeaderFields,
    },
    'the documented values',
  );
});

/** Writes `head` one byte every `every` ms until the server closes the connection. */
function trickle(port: number, head: string, every: number, limit: number): Promise<{ text: string; elapsed: number; closed: boolean }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let i = 0;
    let text = '';
    const timer = setInterval(() => {
      if (socket.writable) socket.write(head[i++ % head.length]!);
    }, every);
    const stop = setTimeout(() => socket.destroy(), limit);
    socket.on('data', (chunk: Buffer) => void (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(stop);
      const elapsed = performance.now() - started;
      resolve({ text, elapsed, closed: elapsed < limit - 5 });
    });
  });
}

/** `proxy.handler` under a server with short timeouts, as an application embedding it would. */
async function shortTimeoutServer(t: TestContext, target: string): Promise<number> {
  const proxy = createProxy({ target });
  const server = http.createServer({ headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 }, proxy.handler);
  server.on('upgrade', proxy.upgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await proxy.close(0);
  });
  return portOf(server);
}

test('slowloris (a head trickled a byte at a time) is cut off after headersTimeout with 408', async (t) => {
  const up = await fixture(t);
  const port = await shortTimeoutServer(t, up.url);
  const { text, elapsed, closed } = await trickle(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(1000)}`, 20, 3_000);
  assert.ok(closed, 'closed by the server');
  assert.ok(elapsed >= 250 && elapsed < 1_500, `closed after ${Math.round(elapsed)} ms`);
  assert.match(text, /^HTTP\/1\.1 408 |^$/);
  assert.equal(up.stats().requests, 0);
});

test('a slow POST body is cut off after requestTimeout, and the upstream request is aborted', async (t) => {
  const up = await fixture(t);
  const port = await shortTimeoutServer(t, up.url);
  const head = 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n';
  const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
  const started = performance.now();
  const timer = setInterval(() => socket.writable && socket.write('a'), 20);
  let text = '';
  socket.on('data', (chunk: Buffer) => void (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const elapsed = await new Promise<number>((resolve) => {
    const limit = setTimeout(() => socket.destroy(), 3_000);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(limit);
      resolve(performance.now() - started);
    });
  });
  assert.ok(elapsed >= 550 && elapsed < 2_000, `closed after ${Math.round(elapsed)} ms`);
  assert.match(text, /^HTTP\/1\.1 408 |^$/);
  await waitFor('the upstream request to be aborted', () => up.stats().inFlight === 0);
  assert.equal(up.stats().requests, 1);
  assert.equal(up.stats().aborted, 1);
});

test('proxy.listen() checks the slowloris timeouts every second (regression: Node\'s default check every 30 s let a slow head live 30 s)', async (t) => {
  const { proxy, up } = await setup(t);
  // Node reads these at each check; the check interval is what the server was made with.
  const server = createServer(proxy);
  server.headersTimeout = 300;
  server.requestTimeout = 600;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const port = portOf(server);
  const { text, elapsed, closed } = await trickle(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(1000)}`, 20, 5_000);
  assert.ok(closed, 'closed by the server');
  assert.ok(elapsed < 2_500, `closed after ${Math.round(elapsed)} ms`);
  assert.match(text, /^HTTP\/1\.1 408 /);
  assert.match(text, /Proxy-Status: proxy-breaker; error=http_request_error/);
  assert.equal(up.stats().requests, 0);
});

test('an over-long request line gets 431 (or 414) and nothing reaches the target', async (t) => {
  const { port, up } = await setup(t);
  const { text, closed } = await raw(port, `GET /${'a'.repeat(SERVER_LIMITS.maxHeaderSize + 10)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.ok([414, 431].includes(only(text).status), text.slice(0, 40));
  assert.ok(closed);
  assert.equal(up.stats().requests, 0);
});

test('an over-long header field gets 431 and nothing reaches the target', async (t) => {
  const { port, up } = await setup(t);
  const { text, closed } = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(SERVER_LIMITS.maxHeaderSize + 10)}\r\n\r\n`);
  assert.equal(only(text).status, 431);
  assert.ok(closed);
  assert.equal(up.stats().requests, 0);
});

test('200 oversized request heads leave heap and RSS bounded and no connection open', async (t) => {
  const { port, up } = await setup(t);
  const big = 'a'.repeat(256 * 1024);
  const attack = (i: number): Promise<unknown> =>
    raw(port, i % 2 === 0 ? `GET /${big} HTTP/1.1\r\nHost: x\r\n\r\n` : `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`);
  // Warm up (lazy allocations, JIT), then measure.
  await Promise.all(Array.from({ length: 20 }, (_, i) => attack(i)));
  gc();
  const before = process.memoryUsage();
  const fds = openFds();
  for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 20 }, (_, i) => attack(i)));
  gc();
  const after = process.memoryUsage();
  const heapGrowth = (after.heapUsed - before.heapUsed) / 2 ** 20;
  const rssGrowth = (after.rss - before.rss) / 2 ** 20;
  assert.ok(heapGrowth < 5, `heap grew ${heapGrowth.toFixed(1)} MiB`);
  assert.ok(rssGrowth < 40, `RSS grew ${rssGrowth.toFixed(1)} MiB`);
  await waitFor('connections to close', () => openFds() <= fds);
  assert.equal(up.stats().requests, 0);
});

test('500 idle keep-alive connections are all accepted, and file descriptors return to baseline when they close', async (t) => {
  const { port, up } = await setup(t);
  const warm = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(only(warm.text).status, 200);
  await delay(20);
  const baseline = openFds();
  const sockets: net.Socket[] = [];
  t.after(() => {
    for (const socket of sockets) socket.destroy();
  });
  for (let i = 0; i < 500; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    sockets.push(socket);
  }
  await Promise.all(sockets.map((socket) => new Promise((resolve) => (socket.connecting ? socket.once('connect', resolve) : resolve(undefined)))));
  // One request each, one at a time (the proxy reuses one upstream socket), then they sit idle.
  for (const socket of sockets) {
    const text = await new Promise<string>((resolve) => {
      let received = '';
      const onData = (chunk: Buffer): void => {
        received += chunk.toString('latin1');
        const reply = responses(received)[0];
        if (reply !== undefined && reply.body.length === Number(reply.headers['content-length'])) {
          socket.off('data', onData);
          resolve(received);
        }
      };
      socket.on('data', onData);
      socket.write('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    assert.equal(only(text).status, 200);
  }
  assert.equal(up.stats().requests, 501);
  assert.ok(sockets.every((socket) => !socket.destroyed), 'every connection is still open (idle keep-alive)');
  const open = openFds() - baseline;
  assert.ok(open >= 1000 && open < 1010, `${open} fds for 500 connections (client and proxy side)`);
  for (const socket of sockets) socket.destroy();
  await waitFor('file descriptors to return to baseline', () => openFds() <= baseline, 3_000);
});

const HALF_OPEN: Array<[what: string, request: string]> = [
  ['a CONNECT refused with 405', 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n'],
  ['a malformed request answered 400', 'GARBAGE\r\n\r\n'],
  ['an upgrade refused by the proxy (508 loop)', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nVia: 1.1 proxy-breaker\r\n\r\n'],
  ['an upgrade the target refused (relayed 400)', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'],
  ['an h2c upgrade refused with 403', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'],
];

for (const [what, request] of HALF_OPEN) {
  test(`after ${what}, a client holding its half of the connection open does not hold the proxy's, nor block proxy.close() (regression: held for ever)`, async (t) => {
    const { proxy, port } = await setup(t);
    await raw(port, request); // warm-up: upstream keep-alive socket, lazy allocations
    await delay(20);
    const baseline = openFds();
    const clients: net.Socket[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => client.write(request));
        client.on('data', () => undefined);
        client.on('error', () => undefined);
        clients.push(client);
      }
      await waitFor('every answer to end', () => clients.every((client) => client.readableEnded));
      // 20 fds are the clients' own; the proxy's 20 must be gone although no client closed.
      await waitFor('the proxy to close its side', () => openFds() - baseline <= 22);
      assert.ok(clients.every((client) => !client.destroyed));
      // Graceful shutdown waits for the server's connections: these must not be among them.
      const closed = await Promise.race([proxy.close(100).then(() => 'closed'), delay(2_000).then(() => 'stuck')]);
      assert.equal(closed, 'closed');
    } finally {
      for (const client of clients) client.destroy();
    }
  });
}

test('a bad chunk from a client that then holds the connection half-open does not keep the upstream request running', async (t) => {
  const { port, up } = await setup(t, {}, { mode: 'hang' });
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () =>
    client.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'),
  );
  t.after(() => client.destroy());
  client.on('data', () => undefined);
  client.on('error', () => undefined);
  await waitFor('the request to reach the target', () => up.stats().inFlight === 1);
  client.write('zz\r\n');
  await waitFor('the upstream request to be aborted', () => up.stats().inFlight === 0, 1_000);
  assert.ok(!client.destroyed);
});

test('a request error after the response started cuts the connection instead of writing a status line into the body (regression)', async (t) => {
  // A target that answers at once with a streamed body and never finishes it.
  const target = await rawUpstream(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'));
  const proxy = createProxy({ target: target.url });
  const { port } = await proxy.listen(0, '127.0.0.1');
  t.after(() => proxy.close(0));
  const client = net.connect(port, '127.0.0.1', () => client.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'));
  let text = '';
  client.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    if (text.endsWith('hello\r\n')) client.write('zz\r\nnot a chunk\r\n');
  });
  client.on('error', () => undefined);
  await new Promise((resolve) => client.on('close', resolve));
  assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, JSON.stringify(text));
  assert.ok(text.endsWith('5\r\nhello\r\n'), JSON.stringify(text));
});
