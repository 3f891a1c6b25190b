/**
 * Responses that llhttp refuses or reads differently from a lenient parser, through the whole
 * proxy: the client gets a proxy-made 502 `http_protocol_error` and the breaker counts a failure;
 * the ones accepted with a caveat (framing fields in trailers, an unframed HEAD response) are
 * relayed safely and their connection is not reused. The parser's own tests are in
 * test/http1-parser-strictness.test.ts.
 */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { test, type TestContext } from 'node:test';
import type { Proxy } from '../../lib/index.js';
import { listening, only, portOf, proxyStatus, raw, rawUpstream } from './helpers.js';

const FINAL = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
const GET = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

function failuresOf(proxy: Proxy): number {
  return proxy.snapshot().targets[0]!.counts.failures;
}

const REFUSED: Array<[what: string, bytes: string]> = [
  ['status 888', 'HTTP/1.1 888 Odd\r\nContent-Length: 2\r\n\r\nok'],
  ['status 600', 'HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok'],
  ['status 999', 'HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok'],
  ['Transfer-Encoding "chunked," (an empty member)', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
  ['Transfer-Encoding "chunked , " (an empty member)', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked , \r\n\r\n2\r\nok\r\n0\r\n\r\n'],
  ['Transfer-Encoding "chunked" and a tab', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
  ['a second Transfer-Encoding field of ","', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: ,\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
  ['Content-Length next to an empty Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: \r\n\r\nok'],
  ['Content-Length next to a comma-only Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: ,\r\n\r\nok'],
  ['"Content-Length: 2" and a tab', 'HTTP/1.1 200 OK\r\nContent-Length: 2\t\r\n\r\nok'],
  ['a final response after "100 Continue" with Connection: close', `HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n${FINAL}`],
  ['a final response after an HTTP/1.0 100 Continue', `HTTP/1.0 100 Continue\r\n\r\n${FINAL}`],
  ['two Content-Length fields in a 1xx', `HTTP/1.1 103 Early Hints\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n${FINAL}`],
];

for (const [what, bytes] of REFUSED) {
  test(`a target answering ${what}: 502 http_protocol_error, counted by the breaker`, async (t) => {
    const target = await rawUpstream(t, (socket) => socket.end(bytes));
    const { proxy, port } = await listening(t, { target: target.url, breaker: { failureThreshold: 100 } });
    const reply = only((await raw(port, GET)).text);
    assert.equal(reply.status, 502);
    assert.equal(reply.headers['proxy-status'], proxyStatus('http_protocol_error'));
    assert.deepEqual(JSON.parse(reply.body), { error: 'http_protocol_error', target: target.url });
    assert.equal(failuresOf(proxy), 1);
  });
}

test('a target sending whitespace in a chunk extension: the client gets no complete response, the connection is closed, counted by the breaker', async (t) => {
  const target = await rawUpstream(t, (socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2; a=b\r\nok\r\n0\r\n\r\n'));
  const { proxy, port } = await listening(t, { target: target.url, breaker: { failureThreshold: 100 } });
  const { text, closed } = await raw(port, GET);
  // The error comes after the head (the proxy may have relayed it): the client's connection is cut.
  assert.doesNotMatch(text, /\r\nok\r\n0\r\n\r\n$/);
  assert.ok(closed);
  assert.equal(failuresOf(proxy), 1);
});

interface Answering {
  url: string;
  /** Connections accepted so far. */
  connections(): number;
}

/**
 * A target that calls `respond(socket, request, connection, index)` for each request head a
 * connection brings (`index` counts the requests on that connection from 0). Closed when `t` ends.
 */
async function answering(t: TestContext, respond: (socket: net.Socket, request: string, connection: number, index: number) => void): Promise<Answering> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    const connection = accepted++;
    sockets.add(socket);
    let buffered = '';
    let index = 0;
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const request = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        respond(socket, request, connection, index++);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${portOf(server)}`, connections: () => accepted };
}

test('a Content-Length trailer is not relayed, the body is, and the target connection is not reused', async (t) => {
  const target = await answering(t, (socket) =>
    socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 5\r\nX-Sum: 1\r\n\r\n'),
  );
  const { port } = await listening(t, { target: target.url });
  const first = await raw(port, GET);
  const reply = only(first.text);
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'hello');
  const trailerSection = first.text.slice(first.text.lastIndexOf('\r\n0\r\n') + 5);
  assert.doesNotMatch(trailerSection, /content-length/i);
  assert.match(trailerSection, /^X-Sum: 1\r\n\r\n$/m);
  assert.equal(only((await raw(port, GET)).text).status, 200);
  assert.equal(target.connections(), 2, 'the second request went on a new connection');
});

test('ordinary response trailers keep the target connection reusable', async (t) => {
  const target = await answering(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n'));
  const { port } = await listening(t, { target: target.url });
  assert.equal(only((await raw(port, GET)).text).status, 200);
  assert.equal(only((await raw(port, GET)).text).status, 200);
  assert.equal(target.connections(), 1);
});

test('client B never gets the bytes a target sent after an unframed HEAD response to client A', async (t) => {
  // The target does not know HEAD has no body: on the connection that carried the HEAD, what it
  // writes next looks like a response. Had the connection gone back to the pool, B would get it.
  const target = await answering(t, (socket, request, _connection, index) => {
    if (request.startsWith('HEAD')) socket.write('HTTP/1.1 200 OK\r\n\r\n');
    else if (index > 0) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nA's bytes");
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nvictim');
  });
  const { port } = await listening(t, { target: target.url });
  const a = only((await raw(port, 'HEAD /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text);
  assert.equal(a.status, 200);
  const b = only((await raw(port, 'GET /victim HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text);
  assert.equal(b.status, 200);
  assert.equal(b.body, 'victim');
  assert.equal(target.connections(), 2);
});

test('a HEAD response with Content-Length keeps the target connection reusable', async (t) => {
  const target = await answering(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n'));
  const { port } = await listening(t, { target: target.url });
  for (let i = 0; i < 2; i++) assert.equal(only((await raw(port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text).status, 200);
  assert.equal(target.connections(), 1);
});
