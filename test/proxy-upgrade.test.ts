/**
 * Upgrade requests (WebSocket) are tunnelled to the target; the handshake is what the breaker sees.
 * Spoken over raw sockets with the fixture's frame helpers.
 */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { afterEach, test, type TestContext } from 'node:test';
import { decodeFrame, encodeClientFrame, webSocketAccept, WS_OPCODE, type WebSocketFrame } from '../fixtures/websocket.js';
import { Proxy } from '../lib/index.js';
import { delay, parseRaw, proxy, request, targetOf, upstream, waitFor, type RawResponse } from './proxy-helpers.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function handshake(path = '/ws', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

/**
 * Client sockets, destroyed after each test before the test's own after() hooks close the proxy:
 * an open tunnel would otherwise keep the proxy's server.close() waiting.
 */
const clients = new Set<net.Socket>();
afterEach(() => {
  for (const socket of clients) socket.destroy();
  clients.clear();
});

/** A raw client socket that collects what it receives and can wait for it. */
class Client {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    clients.add(this.socket);
    this.socket.on('data', (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
  }

  /** The response head, once it has arrived; the bytes after it stay in `received`. */
  async head(): Promise<RawResponse> {
    await waitFor('a response head', () => this.received.includes('\r\n\r\n'));
    const end = this.received.indexOf('\r\n\r\n') + 4;
    const head = parseRaw(this.received.subarray(0, end).toString('latin1'));
    this.received = this.received.subarray(end);
    return head;
  }

  async frame(): Promise<WebSocketFrame> {
    await waitFor('a frame', () => decodeFrame(this.received) !== undefined);
    const frame = decodeFrame(this.received)!;
    this.received = this.received.subarray(frame.length);
    return frame;
  }

  /** Everything until the proxy closes the connection, as text. */
  async rest(): Promise<string> {
    await waitFor('the connection to close', () => this.closed);
    return this.received.toString('latin1');
  }
}

test('a WebSocket echo works through the proxy', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake());
  const head = await client.head();
  assert.equal(head.status, 101);
  assert.equal(head.headers['sec-websocket-accept'], webSocketAccept(KEY));
  assert.equal(head.headers.upgrade, 'websocket');
  assert.match(head.headers.connection ?? '', /upgrade/i);
  client.socket.write(encodeClientFrame('hello'));
  const frame = await client.frame();
  assert.equal(frame.opcode, WS_OPCODE.text);
  assert.equal(frame.payload.toString(), 'hello');
  client.socket.write(encodeClientFrame(Buffer.alloc(70_000, 7), WS_OPCODE.binary));
  const big = await client.frame();
  assert.equal(big.payload.length, 70_000);
  assert.equal(targetOf(p, up.url).counts.successes, 1);
});

test('the upgrade request reaches the target with its handshake fields and the proxy\'s own', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake('/chat?room=1', 'X-Forwarded-For: 203.0.113.7\r\nProxy-Authorization: Basic x\r\n'));
  assert.equal((await client.head()).status, 101);
  const seen = up.stats().last!;
  assert.equal(seen.url, '/chat?room=1');
  assert.equal(seen.headers.upgrade, 'websocket');
  assert.equal(seen.headers.connection, 'Upgrade');
  assert.equal(seen.headers['sec-websocket-key'], KEY);
  assert.equal(seen.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(seen.headers.via, '1.1 proxy-breaker');
  assert.equal(seen.headers.host, new URL(up.url).host);
  assert.equal(seen.headers['proxy-authorization'], undefined);
});

test('a frame sent together with the handshake is delivered', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(Buffer.concat([Buffer.from(handshake()), encodeClientFrame('early')]));
  assert.equal((await client.head()).status, 101);
  assert.equal((await client.frame()).payload.toString(), 'early');
});

test('closing the WebSocket closes the tunnel both ways', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake());
  await client.head();
  client.socket.write(encodeClientFrame(Buffer.from([0x03, 0xe8]), WS_OPCODE.close));
  assert.equal((await client.frame()).opcode, WS_OPCODE.close);
  await waitFor('the tunnel to close', () => client.closed);
  await waitFor('the upstream connection to close', () => up.stats().connections === 0);
});

/**
 * A bare TCP upstream that records how its connections end. The fixture cannot show this: its
 * upgraded sockets are half-open (http.Server's allowHalfOpen) and never close on the proxy's FIN.
 */
async function rawUpstream(
  t: TestContext,
  answer: string | undefined,
  answerAfter = 0,
): Promise<{ url: string; ended: () => number; received: () => Buffer }> {
  let ended = 0;
  let received = Buffer.alloc(0);
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    socket.once('data', () => {
      if (answer !== undefined) setTimeout(() => socket.write(answer), answerAfter);
    });
    socket.on('end', () => {
      ended++;
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  }));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, ended: () => ended, received: () => received };
}

const SWITCH = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${webSocketAccept(KEY)}\r\n\r\n`;

test('a client that leaves an open tunnel ends the upstream side', async (t) => {
  const up = await rawUpstream(t, SWITCH);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake());
  assert.equal((await client.head()).status, 101);
  client.socket.end();
  await waitFor('the upstream to see the end', () => up.ended() === 1);
  await waitFor('the client connection to close', () => client.closed);
});

test('a tunnel that moves no byte for the idle timeout is closed both ways, its handshake still a success', async (t) => {
  const up = await rawUpstream(t, SWITCH);
  const p = await proxy(t, { target: up.url, idleTimeout: 200 });
  const client = new Client(p.port);
  client.socket.write(handshake());
  assert.equal((await client.head()).status, 101);
  await waitFor('the client connection to close', () => client.closed, 5_000);
  await waitFor('the upstream to see the end', () => up.ended() === 1, 5_000);
  const snapshot = targetOf(p, up.url);
  assert.equal(snapshot.requests.success, 1);
  assert.equal(snapshot.failures, 0);
});

test('a tunnel that keeps moving bytes outlives the idle timeout', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url, idleTimeout: 1_000 });
  const client = new Client(p.port);
  client.socket.write(handshake());
  assert.equal((await client.head()).status, 101);
  // Frames 100 ms apart for over twice the idle timeout; each comes back echoed on an open tunnel.
  for (let i = 0; i < 25; i++) {
    client.socket.write(encodeClientFrame(`m${i}`));
    assert.equal((await client.frame()).payload.toString(), `m${i}`);
    await delay(100);
  }
  assert.equal(client.closed, false);
});

test('bytes the client sends before the 101 reach the target after it', async (t) => {
  const up = await rawUpstream(t, SWITCH, 100);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake());
  await delay(30);
  client.socket.write(encodeClientFrame('eager'));
  assert.equal((await client.head()).status, 101);
  await waitFor('the frame at the upstream', () => {
    const afterHead = up.received().subarray(up.received().indexOf('\r\n\r\n') + 4);
    return decodeFrame(afterHead)?.payload.toString() === 'eager';
  });
});

test('a client that floods a pending handshake is cut off', async (t) => {
  const up = await rawUpstream(t, undefined);
  const p = await proxy(t, { target: up.url, timeout: 5_000 });
  const client = new Client(p.port);
  client.socket.write(handshake());
  await waitFor('the handshake to be pending', () => targetOf(p, up.url).inFlight === 1);
  client.socket.write(Buffer.alloc(128 * 1024));
  await waitFor('the client connection to close', () => client.closed);
  assert.equal(targetOf(p, up.url).requests.aborted, 1);
  assert.equal(targetOf(p, up.url).counts.failures, 0);
});

test('an upstream that leaves an open tunnel ends the client side', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake());
  assert.equal((await client.head()).status, 101);
  await up.close();
  await waitFor('the client connection to close', () => client.closed);
});

test('an upgrade to a refused target gets 502 on the socket and counts as a failure', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake());
  const reply = parseRaw(await client.rest());
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_refused');
  assert.deepEqual(JSON.parse(reply.body), { error: 'connection_refused', target: up.url });
  assert.equal(targetOf(p, up.url).failures, 1);
  assert.equal(targetOf(p, up.url).requests.error, 1);
});

test('an upgrade the target does not answer in time gets 504 and counts as a failure', async (t) => {
  const up = await upstream(t, { mode: 'hang' });
  const p = await proxy(t, { target: up.url, timeout: 150 });
  const client = new Client(p.port);
  const started = performance.now();
  client.socket.write(handshake());
  const reply = parseRaw(await client.rest());
  assert.equal(reply.status, 504);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=http_response_timeout');
  assert.ok(performance.now() - started >= 100);
  assert.equal(targetOf(p, up.url).requests.timeout, 1);
  assert.equal(targetOf(p, up.url).failures, 1);
});

test('a target that refuses the upgrade with a failure status is relayed and counted', async (t) => {
  const up = await upstream(t, { mode: { type: 'status', status: 503 } });
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake());
  const reply = parseRaw(await client.rest());
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['proxy-status'], undefined);
  assert.equal(reply.headers.connection, 'close');
  assert.equal(targetOf(p, up.url).failures, 1);
  assert.equal(targetOf(p, up.url).requests.failure_status, 1);
});

test('a target that answers a bad handshake with 400 is relayed and counts as a success', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  // Upgrade to something that is not WebSocket: the fixture answers 400.
  client.socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n');
  const reply = parseRaw(await client.rest());
  assert.equal(reply.status, 400);
  assert.equal(targetOf(p, up.url).counts.successes, 1);
});

test('a client that leaves before the upgrade is answered aborts it and is not charged', async (t) => {
  const up = await rawUpstream(t, undefined);
  const p = await proxy(t, { target: up.url, timeout: 5_000 });
  const client = new Client(p.port);
  client.socket.write(handshake());
  await waitFor('the handshake to be pending', () => targetOf(p, up.url).inFlight === 1);
  client.socket.end();
  await waitFor('the upstream request to be aborted', () => up.ended() === 1);
  const target = targetOf(p, up.url);
  assert.equal(target.requests.aborted, 1);
  assert.equal(target.counts.failures, 0);
  assert.equal(target.inFlight, 0);
});

test('an upgrade while the circuit is open gets 503 with Retry-After and does not reach the target', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url, breaker: { failureThreshold: 1, resetTimeout: 10_000, jitter: 0 } });
  const first = new Client(p.port);
  first.socket.write(handshake());
  assert.equal(parseRaw(await first.rest()).status, 502);
  await up.setMode('ok');
  const second = new Client(p.port);
  second.socket.write(handshake());
  const reply = parseRaw(await second.rest());
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=destination_unavailable');
  assert.equal(reply.headers['retry-after'], '10');
  assert.equal(up.stats().requests, 0);
});

test('an upgrade no route matches gets 404', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { routes: [{ match: '/api', targets: [up.url] }] });
  const client = new Client(p.port);
  client.socket.write(handshake('/other'));
  const reply = parseRaw(await client.rest());
  assert.equal(reply.status, 404);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=destination_not_found');
});

test('proxy.close() ends open tunnels', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake());
  await client.head();
  const closing = p.proxy.close(100);
  const outcome = await Promise.race([closing.then(() => 'closed'), delay(500).then(() => 'still open')]);
  assert.equal(outcome, 'closed');
  await waitFor('the client socket to close', () => client.closed);
});

test('bytes the target sends together with its 101 reach the client', async (t) => {
  // One write: the 101 and the first bytes of the new protocol reach the proxy in one read.
  const up = await rawUpstream(t, `${SWITCH}first words`);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake());
  assert.equal((await client.head()).status, 101);
  await waitFor('the bytes after the 101', () => client.received.toString('latin1') === 'first words');
});

test("an upgrade's handshake time is observed in the target's latency histogram", async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assert.equal(targetOf(p, up.url).latency.count, 0);
  const client = new Client(p.port);
  client.socket.write(handshake());
  assert.equal((await client.head()).status, 101);
  assert.equal(targetOf(p, up.url).latency.count, 1);
  assert.equal(targetOf(p, up.url).requests.success, 1);
});

test('an upgrade is reported in a response event: 101 and success once it switched', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen: Array<{ status: number; outcome: string; target: string; route: string; retries: number; url: string | undefined }> = [];
  p.proxy.on('response', ({ status, outcome, target, route, retries, req, durationMs }) => {
    assert.ok(durationMs >= 0);
    seen.push({ status, outcome, target, route, retries, url: req.url });
  });
  const client = new Client(p.port);
  client.socket.write(handshake('/ws?x=1'));
  assert.equal((await client.head()).status, 101);
  assert.deepEqual(seen, [{ status: 101, outcome: 'success', target: up.url, route: '/', retries: 0, url: '/ws?x=1' }]);
});

test('a failed, a refused and a rejected upgrade are each reported in a response event', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { target: up.url, breaker: { failureThreshold: 1, resetTimeout: 10_000, jitter: 0 } });
  const seen: Array<{ status: number; outcome: string }> = [];
  const rejects: string[] = [];
  p.proxy.on('response', ({ status, outcome }) => seen.push({ status, outcome }));
  p.proxy.on('reject', ({ reason }) => rejects.push(reason));
  const first = new Client(p.port);
  first.socket.write(handshake());
  assert.equal(parseRaw(await first.rest()).status, 502);
  const second = new Client(p.port);
  second.socket.write(handshake());
  assert.equal(parseRaw(await second.rest()).status, 503);
  assert.deepEqual(seen, [{ status: 502, outcome: 'error' }, { status: 503, outcome: 'rejected' }]);
  assert.deepEqual(rejects, ['open']);
  assert.equal(targetOf(p, up.url).requests.rejected, 1);
});

test('a client that leaves a pending handshake is reported as 499 aborted', async (t) => {
  const up = await rawUpstream(t, undefined);
  const p = await proxy(t, { target: up.url, timeout: 5_000 });
  const seen: Array<{ status: number; outcome: string }> = [];
  p.proxy.on('response', ({ status, outcome }) => seen.push({ status, outcome }));
  const client = new Client(p.port);
  client.socket.write(handshake());
  await waitFor('the handshake to be pending', () => p.proxy.inFlight === 1);
  client.socket.destroy();
  await waitFor('the outcome', () => seen.length === 1);
  assert.deepEqual(seen, [{ status: 499, outcome: 'aborted' }]);
  assert.equal(p.proxy.inFlight, 0);
  assert.equal(targetOf(p, up.url).latency.count, 0, 'an abandoned handshake says nothing about latency');
});

test('a long answer refusing the upgrade is relayed whole, then the connection closes', async (t) => {
  const length = 4 * 1024 * 1024;
  const up = await rawUpstream(t, `HTTP/1.1 403 Forbidden\r\nContent-Length: ${length}\r\n\r\n${'x'.repeat(length)}`);
  const p = await proxy(t, { target: up.url });
  const client = new Client(p.port);
  client.socket.write(handshake());
  const reply = parseRaw(await client.rest());
  assert.equal(reply.status, 403);
  assert.equal(reply.body.length, length);
  assert.equal(targetOf(p, up.url).requests.success, 1);
});

test('an upgrade handshake goes out on a new connection, not an idle keep-alive one', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assert.equal((await request(p.port, '/')).status, 200);
  await waitFor('the keep-alive connection to be idle', () => up.stats().connections === 1 && up.stats().inFlight === 0);
  const client = new Client(p.port);
  client.socket.write(handshake());
  assert.equal((await client.head()).status, 101);
  assert.equal(up.stats().connections, 2, 'a second connection carries the tunnel');
});
