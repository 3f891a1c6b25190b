/**
 * The 101 hand-over in lib/http1: a request that asks to switch protocols gets its 101 parsed by
 * the same strict parser as any response, then the socket (and whatever the target sent after
 * the head) leaves the pool for the caller; any other answer is a response, and the connection
 * is closed after it.
 */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { test, type TestContext } from 'node:test';
import { UpstreamPool, type UpgradeSink } from '../lib/http1/connection.js';
import { requestHead } from '../lib/http1/request-head.js';
import { ParseError, ResponseParser, type ResponseHandler, type ResponseHead } from '../lib/http1/response-parser.js';
import { waitFor } from './lifecycle-helpers.js';

const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n';
const UPGRADE = requestHead('GET', '/ws', ['Host', 'x', 'Connection', 'Upgrade', 'Upgrade', 'echo'], false)!;

class Events implements ResponseHandler {
  readonly seen: string[] = [];
  onInterim(): void {
    this.seen.push('interim');
  }
  onHead(head: ResponseHead): void {
    this.seen.push(`head ${head.statusCode} ${head.rawHeaders.join(',')}`);
  }
  onBody(chunk: Buffer, last: boolean): void {
    this.seen.push(`body ${chunk.toString('latin1')}${last ? ' last' : ''}`);
  }
  onComplete(): void {
    this.seen.push('complete');
  }
}

test('parser: a 101 to an upgrade request is its final head; the bytes after it are left over', () => {
  const text = `${SWITCH}\x81\x02hi`;
  // Every split point: the head may come in pieces, the new protocol's bytes with its last one.
  for (let at = 1; at < text.length; at++) {
    const events = new Events();
    const parser = new ResponseParser(events);
    parser.start(false, true);
    const first = parser.execute(Buffer.from(text.slice(0, at), 'latin1'));
    const complete = first || parser.execute(Buffer.from(text.slice(at), 'latin1'));
    assert.equal(complete, true, `split at ${at}`);
    assert.equal(parser.upgraded, true);
    assert.equal(parser.keepAlive, false);
    // What came after the head in the read that completed it.
    assert.equal(parser.leftover, first ? at - SWITCH.length : text.length - SWITCH.length, `split at ${at}`);
    assert.deepEqual(events.seen, ['head 101 Upgrade,echo,Connection,Upgrade']);
  }
});

test('parser: an interim 100 before the 101 stays interim', () => {
  const events = new Events();
  const parser = new ResponseParser(events);
  parser.start(false, true);
  assert.equal(parser.execute(Buffer.from(`HTTP/1.1 100 Continue\r\n\r\n${SWITCH}`, 'latin1')), true);
  assert.deepEqual(events.seen, ['interim', 'head 101 Upgrade,echo,Connection,Upgrade']);
  assert.equal(parser.leftover, 0);
});

test('parser: a refusal of an upgrade is an ordinary response, body and all', () => {
  const events = new Events();
  const parser = new ResponseParser(events);
  parser.start(false, true);
  assert.equal(parser.execute(Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno', 'latin1')), true);
  assert.equal(parser.upgraded, false);
  assert.deepEqual(events.seen, ['head 400 Content-Length,2', 'body no last', 'complete']);
});

test('parser: after an upgrade request, the next request without one refuses a 101 again', () => {
  const parser = new ResponseParser(new Events());
  parser.start(false, true);
  parser.execute(Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n', 'latin1'));
  parser.start(false);
  assert.throws(() => parser.execute(Buffer.from(SWITCH, 'latin1')), (error: unknown) => error instanceof ParseError && error.code === 'HPE_UNEXPECTED_UPGRADE');
  assert.equal(parser.upgraded, false);
});

/** Records what an upgrade request got. */
class UpgradeRecorder implements UpgradeSink {
  readonly seen: string[] = [];
  idleTicks = 0;
  socket: net.Socket | undefined;
  rest: Buffer = Buffer.alloc(0);
  head: ResponseHead | undefined;
  upstreamInterim(): void {
    this.seen.push('interim');
  }
  upstreamHead(head: ResponseHead): void {
    this.seen.push(`head ${head.statusCode}`);
  }
  upstreamData(chunk: Buffer, last: boolean): void {
    if (chunk.length > 0) this.seen.push(`data ${chunk.toString('latin1')}`);
    if (last) this.seen.push('last');
  }
  upstreamEnd(): void {
    this.seen.push('end');
  }
  upstreamError(error: Error & { code?: string }): void {
    this.seen.push(`error ${error.code}`);
  }
  upstreamUpgrade(head: ResponseHead, socket: net.Socket, rest: Buffer): void {
    this.seen.push(`upgrade ${head.statusCode}`);
    this.head = head;
    this.socket = socket;
    this.rest = rest;
  }
}

/** A TCP server that answers the first request head with `answer`, then echoes every byte back. */
async function server(t: TestContext, answer: string): Promise<{ port: number; received: () => string }> {
  let received = '';
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let upgraded = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (upgraded) return void socket.write(chunk);
      if (!received.includes('\r\n\r\n')) return;
      upgraded = true;
      socket.write(answer);
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => listener.close(() => resolve()));
  });
  return { port: (listener.address() as net.AddressInfo).port, received: () => received };
}

function pool(t: TestContext, port: number): UpstreamPool {
  const made = new UpstreamPool({ host: '127.0.0.1', port, maxIdle: 16 });
  t.after(() => made.close());
  return made;
}

test('connection: a 101 hands the socket and the bytes after the head to the sink, out of the pool', async (t) => {
  const up = await server(t, `${SWITCH}early`);
  const upstream = pool(t, up.port);
  const recorder = new UpgradeRecorder();
  upstream.acquire().sendUpgrade(recorder, UPGRADE);
  await waitFor('the upgrade', () => recorder.socket !== undefined);
  assert.deepEqual(recorder.seen, ['upgrade 101']);
  assert.equal(recorder.rest.toString('latin1'), 'early');
  assert.equal(up.received(), UPGRADE);
  assert.equal(upstream.size, 0, 'the connection left the pool');
  // The socket now speaks the new protocol, and the pool no longer reads it.
  const socket = recorder.socket!;
  let echoed = '';
  socket.on('data', (chunk: Buffer) => (echoed += chunk.toString('latin1')));
  socket.resume(); // handed over paused
  socket.write('ping');
  await waitFor('the echo', () => echoed === 'ping');
  assert.deepEqual(recorder.seen, ['upgrade 101']);
  // Closing the pool does not close a socket that is no longer its own.
  upstream.close();
  socket.write('pong');
  await waitFor('the second echo', () => echoed === 'pingpong');
  socket.destroy();
});

test('connection: an answer other than 101 to an upgrade request is a response, and the connection closes', async (t) => {
  const up = await server(t, 'HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno');
  const upstream = pool(t, up.port);
  const recorder = new UpgradeRecorder();
  const connection = upstream.acquire();
  connection.sendUpgrade(recorder, UPGRADE);
  await waitFor('the response', () => recorder.seen.includes('end'));
  assert.deepEqual(recorder.seen, ['head 403', 'data no', 'last', 'end']);
  await waitFor('the connection to close', () => upstream.size === 0);
  assert.equal(upstream.idleCount, 0, 'never pooled');
  assert.equal(connection.socket.destroyed, true);
});

test('request head: an upgrade head carries its own Connection field, not keep-alive', () => {
  assert.equal(UPGRADE, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
});
