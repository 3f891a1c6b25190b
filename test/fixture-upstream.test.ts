import { after, before, beforeEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { Agent, request, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadTestCertificate } from '../fixtures/certificate.js';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';
import { WS_OPCODE, decodeFrame, encodeClientFrame, webSocketAccept, type WebSocketFrame } from '../fixtures/websocket.js';

// --- helpers ---------------------------------------------------------------------------------

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: NodeJS.Dict<string>;
}

/** One request on its own connection (agent: false) unless an agent is passed. */
function send(url: string, options: RequestOptions & { body?: string | Buffer } = {}): Promise<Reply> {
  const { body, ...rest } = options;
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...rest }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: res.trailers }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

function json(reply: Reply): Record<string, unknown> {
  return JSON.parse(reply.body.toString('utf8')) as Record<string, unknown>;
}

/** The error a request ends with (it must not get a complete response). */
function sendExpectingError(url: string, options: RequestOptions = {}): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...options }, () => reject(new Error('unexpected response')));
    req.on('error', resolve);
    req.end();
  });
}

/** Polls: server-side bookkeeping (socket 'close') can land a moment after the client sees it. */
async function waitFor(condition: () => boolean, timeout = 1000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A bare WebSocket client over net.Socket, using the fixture's exported frame helpers. */
function openWebSocket(port: number) {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let buffered = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    wake?.();
  });
  const until = async <T>(take: () => T | undefined): Promise<T> => {
    for (let value = take(); ; value = take()) {
      if (value !== undefined) return value;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const handshake = (): Promise<string> =>
    until(() => {
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return undefined;
      const head = buffered.subarray(0, end).toString('latin1');
      buffered = buffered.subarray(end + 4);
      return head;
    });
  const frame = (): Promise<WebSocketFrame> =>
    until(() => {
      const decoded = decodeFrame(buffered);
      if (decoded) buffered = buffered.subarray(decoded.length);
      return decoded;
    });
  return { socket, key, closed, handshake, frame };
}

// --- shared fixture: modes, routes, control, stats ---------------------------------------------

describe('fixture upstream', () => {
  let up: Upstream;

  before(async () => {
    up = await startUpstream();
  });
  after(() => up.close());
  beforeEach(async () => {
    await up.reset();
    // Gauges are live, not reset: let earlier tests' connections finish closing.
    await waitFor(() => up.stats().inFlight === 0 && up.stats().connections === 0);
  });

  test('listens on 127.0.0.1 with url, port and a separate control url', () => {
    assert.match(up.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(Number(new URL(up.url).port), up.port);
    assert.match(up.controlUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(up.controlUrl, up.url);
    assert.deepEqual(up.mode(), { type: 'ok' });
  });

  test('ok mode echoes method, url, headers, raw headers, version and body as JSON', async () => {
    const reply = await send(`${up.url}/echo?x=1`, {
      method: 'POST',
      headers: { 'X-Test': 'yes', 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.equal(Number(reply.headers['content-length']), reply.body.length);
    const echo = json(reply);
    assert.equal(echo.method, 'POST');
    assert.equal(echo.url, '/echo?x=1');
    assert.equal(echo.httpVersion, '1.1');
    assert.equal(echo.body, 'hello');
    assert.equal(echo.bodyLength, 5);
    assert.equal((echo.headers as Record<string, string>)['x-test'], 'yes');
    assert.ok((echo.rawHeaders as string[]).includes('X-Test'), 'raw headers keep the original case');
    assert.deepEqual(echo.trailers, {});
  });

  test('ok mode counts a body over 64 KiB without echoing it', async () => {
    const echo = json(await send(`${up.url}/big`, { method: 'POST', body: Buffer.alloc(100 * 1024, 'a') }));
    assert.equal(echo.bodyLength, 100 * 1024);
    assert.equal('body' in echo, false);
  });

  test('ok mode echoes request trailers and records them in stats().last', async () => {
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = request(`${up.url}/trailers`, { method: 'POST', agent: false, headers: { trailer: 'x-sum' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: {} }));
      });
      req.on('error', reject);
      req.write('part');
      req.addTrailers({ 'x-sum': '42' });
      req.end();
    });
    assert.deepEqual(json(reply).trailers, { 'x-sum': '42' });
    assert.deepEqual(up.stats().last?.trailers, { 'x-sum': '42' });
  });

  test('status mode answers the status with a small text body', async () => {
    await up.setMode({ type: 'status', status: 503 });
    const reply = await send(`${up.url}/anything`);
    assert.equal(reply.status, 503);
    assert.equal(reply.body.toString(), '503 Service Unavailable\n');
  });

  test('status mode sends a custom body when given', async () => {
    await up.setMode({ type: 'status', status: 500, body: 'boom' });
    const reply = await send(`${up.url}/`);
    assert.equal(reply.status, 500);
    assert.equal(reply.body.toString(), 'boom');
  });

  test('GET /status/NNN answers that status in ok mode', async () => {
    assert.equal((await send(`${up.url}/status/418`)).status, 418);
    assert.equal((await send(`${up.url}/status/204`)).body.length, 0);
    assert.equal((await send(`${up.url}/status/700`)).status, 400);
  });

  test('hang mode never answers and counts the request in flight until the client leaves', async () => {
    await up.setMode('hang');
    let responded = false;
    const req = request(`${up.url}/hang`, { agent: false }, () => (responded = true));
    const failed = new Promise<Error>((resolve) => req.on('error', resolve));
    req.setTimeout(200, () => req.destroy(new Error('client timeout')));
    req.end();
    await waitFor(() => up.stats().inFlight === 1);
    assert.equal((await failed).message, 'client timeout');
    assert.equal(responded, false);
    await waitFor(() => up.stats().inFlight === 0);
    assert.equal(up.stats().aborted, 1);
    assert.equal(up.stats().requests, 1);
  });

  test('slow mode answers like ok after at least the delay', async () => {
    await up.setMode({ type: 'slow', delay: 50 });
    const started = performance.now();
    const reply = await send(`${up.url}/slow`);
    assert.ok(performance.now() - started >= 49, 'answered too early');
    assert.equal(reply.status, 200);
    assert.equal(json(reply).url, '/slow');
  });

  test('reset mode resets the connection before answering', async () => {
    await up.setMode('reset');
    const error = await sendExpectingError(`${up.url}/reset`);
    assert.equal(error.code, 'ECONNRESET');
    await waitFor(() => up.stats().inFlight === 0);
    assert.equal(up.stats().aborted, 0, 'the fixture cut it, the client did not abort');
  });

  test('reset-mid-body mode sends headers and half the body, then closes', async () => {
    await up.setMode('reset-mid-body');
    const seen = await new Promise<{ length: string | undefined; received: number; complete: boolean; error?: Error }>(
      (resolve, reject) => {
        const req = request(`${up.url}/partial`, { agent: false }, (res) => {
          let received = 0;
          let error: Error | undefined;
          res.on('data', (chunk: Buffer) => (received += chunk.length));
          res.on('error', (err) => (error = err));
          res.on('close', () => resolve({ length: res.headers['content-length'], received, complete: res.complete, error }));
        });
        req.on('error', reject);
        req.end();
      },
    );
    assert.equal(seen.length, '1024');
    assert.equal(seen.received, 512);
    assert.equal(seen.complete, false);
    assert.match(String(seen.error?.message), /aborted/);
  });

  test('flaky mode with every: 2 fails exactly every second request', async () => {
    await up.setMode({ type: 'flaky', every: 2, status: 502 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(`${up.url}/f`)).status);
    assert.deepEqual(statuses, [200, 502, 200, 502]);
  });

  test('flaky mode with failRate 1 always fails and 0 never does', async () => {
    await up.setMode({ type: 'flaky', failRate: 1 });
    assert.equal((await send(`${up.url}/f`)).status, 500);
    await up.setMode({ type: 'flaky', failRate: 0 });
    assert.equal((await send(`${up.url}/f`)).status, 200);
  });

  test('GET /bytes/N streams exactly N bytes with a Content-Length', async () => {
    const size = 8 * 1024 * 1024 + 3; // not a multiple of the internal chunk size
    const reply = await send(`${up.url}/bytes/${size}`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-length'], String(size));
    assert.equal(reply.body.length, size);
  });

  test('GET /chunked/N sends N bytes chunked with an x-fixture-trailer: done trailer', async () => {
    const reply = await send(`${up.url}/chunked/100000`);
    assert.equal(reply.headers['transfer-encoding'], 'chunked');
    assert.equal(reply.headers.trailer, 'x-fixture-trailer');
    assert.equal(reply.body.length, 100000);
    assert.deepEqual(reply.trailers, { 'x-fixture-trailer': 'done' });
    assert.deepEqual((await send(`${up.url}/chunked/0`)).trailers, { 'x-fixture-trailer': 'done' });
  });

  test('control routes on the data port set the mode, report stats and reset', async () => {
    const set = await send(`${up.url}/__fixture/mode`, { method: 'POST', body: '{"type":"status","status":502}' });
    assert.equal(set.status, 200);
    assert.deepEqual(json(set), { type: 'status', status: 502 });
    assert.equal((await send(`${up.url}/x`)).status, 502);

    const stats = json(await send(`${up.url}/__fixture/stats`));
    assert.equal(stats.requests, 1, 'control requests are not counted');
    assert.deepEqual(stats.byStatus, { 502: 1 });

    const reset = json(await send(`${up.url}/__fixture/reset`, { method: 'POST' }));
    assert.deepEqual(reset.mode, { type: 'ok' });
    assert.equal((reset.stats as { requests: number }).requests, 0);
  });

  test('control routes also work on the control port, and accept a mode name', async () => {
    const set = await send(`${up.controlUrl}/__fixture/mode`, { method: 'POST', body: '"hang"' });
    assert.deepEqual(json(set), { type: 'hang' });
    assert.deepEqual(up.mode(), { type: 'hang' });
    assert.deepEqual(json(await send(`${up.controlUrl}/__fixture/mode`)), { type: 'hang' });
    assert.equal(json(await send(`${up.controlUrl}/__fixture/stats`)).requests, 0);
    assert.equal((await send(`${up.controlUrl}/not-fixture`)).status, 404, 'the control port serves only /__fixture/*');
  });

  test('control answers 400 with {error} on bad JSON or an invalid mode', async () => {
    const badJson = await send(`${up.controlUrl}/__fixture/mode`, { method: 'POST', body: '{nope' });
    assert.equal(badJson.status, 400);
    assert.match(String(json(badJson).error), /not valid JSON/);
    const badMode = await send(`${up.url}/__fixture/mode`, { method: 'POST', body: '{"type":"slow","delay":-1}' });
    assert.equal(badMode.status, 400);
    assert.match(String(json(badMode).error), /`delay`/);
    assert.deepEqual(up.mode(), { type: 'ok' }, 'a rejected mode changes nothing');
  });

  test('control answers 404 on an unknown route and 405 on a wrong method', async () => {
    const unknown = await send(`${up.url}/__fixture/nope`);
    assert.equal(unknown.status, 404);
    assert.equal(typeof json(unknown).error, 'string');
    const wrong = await send(`${up.controlUrl}/__fixture/stats`, { method: 'POST' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'GET');
    assert.equal((await send(`${up.url}/__fixture/mode`, { method: 'PUT' })).headers.allow, 'GET, POST');
  });

  test('stats count requests, statuses, open connections and the last request', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await send(`${up.url}/one`, { agent });
      await send(`${up.url}/status/503`, { agent, headers: { 'x-last': 'me' } });
      const stats = up.stats();
      assert.equal(stats.requests, 2);
      assert.equal(stats.inFlight, 0);
      assert.equal(stats.connections, 1, 'both requests shared one keep-alive connection');
      assert.deepEqual(stats.byStatus, { 200: 1, 503: 1 });
      assert.equal(stats.last?.method, 'GET');
      assert.equal(stats.last?.url, '/status/503');
      assert.equal(stats.last?.headers['x-last'], 'me');
      assert.ok(stats.last?.rawHeaders.includes('x-last'));
    } finally {
      agent.destroy();
    }
    await waitFor(() => up.stats().connections === 0);
  });

  test('WebSocket upgrade answers 101 with the right accept key and echoes frames', async () => {
    const ws = openWebSocket(up.port);
    const head = await ws.handshake();
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.ok(head.includes(`Sec-WebSocket-Accept: ${webSocketAccept(ws.key)}`));

    ws.socket.write(encodeClientFrame('hello'));
    const text = await ws.frame();
    assert.equal(text.opcode, WS_OPCODE.text);
    assert.equal(text.payload.toString(), 'hello');

    const big = randomBytes(70_000); // needs the 64-bit length form
    ws.socket.write(encodeClientFrame(big, WS_OPCODE.binary));
    const binary = await ws.frame();
    assert.equal(binary.opcode, WS_OPCODE.binary);
    assert.ok(binary.payload.equals(big));

    ws.socket.write(encodeClientFrame(Buffer.from([0x03, 0xe8]), WS_OPCODE.close));
    const close = await ws.frame();
    assert.equal(close.opcode, WS_OPCODE.close);
    assert.deepEqual([...close.payload], [0x03, 0xe8]);
    ws.socket.end();
    await ws.closed;
    assert.equal(up.stats().byStatus[101], 1);
  });

  test('decodeFrame waits for a complete frame and unmasks client frames', () => {
    const frame = encodeClientFrame('abc');
    assert.equal(decodeFrame(frame.subarray(0, frame.length - 1)), undefined);
    assert.equal(decodeFrame(frame.subarray(0, 1)), undefined);
    const decoded = decodeFrame(Buffer.concat([frame, Buffer.from([0x81])]));
    assert.equal(decoded?.payload.toString(), 'abc');
    assert.equal(decoded?.length, frame.length);
    assert.equal(decoded?.fin, true);
  });

  test('setMode rejects invalid modes with errors naming the field', async () => {
    // @ts-expect-error: not a mode
    await assert.rejects(up.setMode('explode'), { name: 'TypeError', message: /`type`/ });
    await assert.rejects(up.setMode({ type: 'status', status: 99 }), { name: 'RangeError', message: /`status`/ });
    await assert.rejects(up.setMode({ type: 'slow', delay: -5 }), { name: 'RangeError', message: /`delay`/ });
    // @ts-expect-error: delay must be a number
    await assert.rejects(up.setMode({ type: 'slow', delay: '5' }), { name: 'TypeError', message: /`delay`/ });
    await assert.rejects(up.setMode({ type: 'flaky', failRate: 1.5 }), { name: 'RangeError', message: /`failRate`/ });
    await assert.rejects(up.setMode({ type: 'flaky', every: 0 }), { name: 'RangeError', message: /`every`/ });
    // @ts-expect-error: a typo of `delay`
    await assert.rejects(up.setMode({ type: 'slow', dealy: 5 }), { name: 'TypeError', message: /`dealy`/ });
    assert.deepEqual(up.mode(), { type: 'ok' });
  });

  test('setMode with a bare name fills in default parameters', async () => {
    await up.setMode('status');
    assert.deepEqual(up.mode(), { type: 'status', status: 500 });
    await up.setMode('slow');
    assert.deepEqual(up.mode(), { type: 'slow', delay: 1000 });
    await up.setMode('flaky');
    assert.deepEqual(up.mode(), { type: 'flaky', failRate: 0.5, status: 500 });
  });
});

// --- fixtures of their own: refuse, TLS, close, command line -----------------------------------

describe('fixture upstream refuse mode', () => {
  let up: Upstream;
  before(async () => {
    up = await startUpstream();
  });
  after(() => up.close());

  test('refuse closes the listener, and leaving it reopens the same port', async () => {
    const agent = new Agent({ keepAlive: true });
    await send(`${up.url}/warm`, { agent });
    assert.equal(up.stats().connections, 1);
    await up.setMode('refuse');
    assert.equal((await sendExpectingError(`${up.url}/x`)).code, 'ECONNREFUSED');
    await waitFor(() => up.stats().connections === 0); // open keep-alive sockets were destroyed too
    agent.destroy();

    await up.setMode('ok');
    const reply = await send(`${up.url}/back`);
    assert.equal(reply.status, 200);
    assert.equal(json(reply).url, '/back');
  });

  test('refuse set over the data port answers 200 first, then refuses', async () => {
    const set = await send(`${up.url}/__fixture/mode`, { method: 'POST', body: '{"type":"refuse"}' });
    assert.equal(set.status, 200);
    assert.deepEqual(json(set), { type: 'refuse' });
    assert.equal((await sendExpectingError(`${up.url}/x`)).code, 'ECONNREFUSED');
    const back = await send(`${up.controlUrl}/__fixture/reset`, { method: 'POST' });
    assert.deepEqual(json(back).mode, { type: 'ok' });
    assert.equal((await send(`${up.url}/again`)).status, 200);
  });

  test('refuse keeps its port bound, so that no listener on port 0 is given it, until it ends', async () => {
    const refusing = await startUpstream({ mode: 'refuse' });
    const { port } = refusing;
    try {
      assert.equal((await sendExpectingError(refusing.url)).code, 'ECONNREFUSED');
      assert.equal(socketsBoundTo(port), 1, 'one socket holds the port while nothing listens on it');
      await refusing.setMode('ok');
      assert.equal(socketsBoundTo(port), 1, 'the listener, and nothing else');
      await refusing.setMode('refuse');
      assert.equal(socketsBoundTo(port), 1);
    } finally {
      await refusing.close();
    }
    assert.equal(socketsBoundTo(port), 0, 'closing the fixture lets the port go');
  });

  test('startUpstream can start in refuse mode on a reserved port', async () => {
    const refusing = await startUpstream({ mode: 'refuse' });
    try {
      assert.ok(refusing.port > 0);
      assert.equal((await sendExpectingError(refusing.url)).code, 'ECONNREFUSED');
      await refusing.setMode('ok');
      assert.equal((await send(refusing.url)).status, 200);
    } finally {
      await refusing.close();
    }
  });
});

describe('fixture upstream over TLS', () => {
  const { key, cert } = loadTestCertificate();
  let up: Upstream;
  before(async () => {
    up = await startUpstream({ tls: { key, cert } });
  });
  after(() => up.close());

  test('serves https with the test certificate for 127.0.0.1', async () => {
    assert.match(up.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const echo = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = httpsRequest(`${up.url}/secure`, { ca: cert, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(echo.url, '/secure');
    assert.match(up.controlUrl, /^http:\/\//, 'the control port stays plain http');
  });
});

describe('fixture upstream close()', () => {
  test('close() ends a hanging request promptly and is idempotent', async () => {
    const up = await startUpstream({ mode: { type: 'hang' } });
    const failed = sendExpectingError(`${up.url}/forever`);
    await waitFor(() => up.stats().inFlight === 1);
    const started = performance.now();
    await up.close();
    assert.ok(performance.now() - started < 500, 'close() waited on the hanging request');
    assert.equal((await failed).code, 'ECONNRESET');
    await up.close();
    assert.equal((await sendExpectingError(`${up.controlUrl}/__fixture/stats`)).code, 'ECONNREFUSED');
  });

  test('close() clears slow-mode timers and rejects later mode changes', async () => {
    const up = await startUpstream({ mode: { type: 'slow', delay: 60_000 } });
    const failed = sendExpectingError(`${up.url}/slow`);
    await waitFor(() => up.stats().inFlight === 1);
    await up.close();
    await failed;
    await assert.rejects(up.setMode('ok'), /closed/);
  });
});

describe('fixture upstream command line', () => {
  const script = fileURLToPath(new URL('../fixtures/upstream-cli.ts', import.meta.url));
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const run = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd });

  test('bad arguments print one line on stderr and exit 2', async () => {
    const child = run(['--port', 'abc']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(stderr, /^upstream: .*`--port`.*\n$/);
  });

  test('starts, prints its urls and a curl example, and exits on SIGINT', async () => {
    const child = run(['--port', '0', '--mode', 'hang']);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await waitFor(() => stdout.includes('curl'), 5000);
    assert.match(stdout, /^upstream listening on http:\/\/127\.0\.0\.1:\d+ \(control: http:\/\/127\.0\.0\.1:\d+\)\n/);
    const control = /control: (\S+)\)/.exec(stdout)?.[1];
    assert.deepEqual(json(await send(`${control}/__fixture/mode`)), { type: 'hang' });
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });
});

/**
 * Sockets bound to `port` on this machine, TIME_WAIT leftovers aside, from the kernel's tables
 * (Linux, as on the machines that run these tests): what decides whether a listener on port 0
 * may be given the port.
 */
function socketsBoundTo(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(hex) && state !== '06' /* TIME_WAIT */) count++;
    }
  }
  return count;
}
