/**
 * Graceful shutdown, in-process (`proxy.close(drainMs)`) and through the CLI's signals
 * (`node bin/proxy-breaker.js`, never npx: it does not forward signals). On SIGTERM no accepted
 * request is dropped, idle keep-alive connections are closed at once, new connections are
 * refused, and the process exits 0 within the drain bound; a second signal exits 1 at once.
 * The bin runs dist/: `npm run build` first (this file rebuilds dist/ when lib/ is newer).
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startUpstream, type Upstream, type UpstreamOptions } from '../fixtures/upstream.js';
import { createProxy, type Proxy } from '../lib/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'proxy-breaker.js');
const SLOW = 500;

/** The newest modification time under `dir` (recursively), ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

before(() => {
  // The bin imports dist/; make sure it is the code under test.
  const built = join(ROOT, 'dist', 'lib', 'cli', 'main.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(ROOT, 'lib'))) return;
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { encoding: 'utf8' });
  assert.equal(result.status, 0, `npm run build failed:\n${result.stdout}${result.stderr}`);
});

async function fixture(t: TestContext, options: UpstreamOptions = {}): Promise<Upstream> {
  const up = await startUpstream(options);
  t.after(() => up.close());
  return up;
}

interface Answer {
  status: number;
  body: string;
  /** The server closed the connection after this response. */
  closedAfter: Promise<void>;
}

/** One request on its own keep-alive connection (a fresh agent), resolved with the whole answer. */
function get(port: number, path = '/', timeout = 5_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const req = http.get({ host: '127.0.0.1', port, path, agent, signal: AbortSignal.timeout(timeout) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => void (body += chunk));
      res.on('error', reject);
      res.on('end', () => {
        const socket = res.socket;
        const closedAfter = socket === null || socket.destroyed ? Promise.resolve() : new Promise<void>((done) => socket.once('close', () => done()));
        void closedAfter.then(() => agent.destroy());
        resolve({ status: res.statusCode!, body, closedAfter });
      });
    });
    req.on('error', reject);
  });
}

/** An idle keep-alive connection: one request answered, then nothing. Resolves once idle. */
async function idleConnection(port: number): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let text = '';
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (/\r\n\r\n[\s\S]*\}$/.test(text)) resolve();
    });
    socket.write('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  return { socket, closed };
}

/** Resolves with the error code of a connection attempt (or 'connected'). */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: Error & { code?: string }) => resolve(error.code ?? error.message));
  });
}

// --- in-process: proxy.close(drainMs) ------------------------------------------------------------

async function inProcess(t: TestContext, up: Upstream): Promise<{ proxy: Proxy; port: number }> {
  const proxy = createProxy({ target: up.url });
  const { port } = await proxy.listen(0, '127.0.0.1');
  t.after(() => proxy.close(0));
  return { proxy, port };
}

test('proxy.close(): requests in flight finish with 200, idle keep-alive connections close at once, new connections are refused', async (t) => {
  const up = await fixture(t, { mode: { type: 'slow', delay: SLOW } });
  const { proxy, port } = await inProcess(t, up);
  await up.setMode('ok');
  const idle = await idleConnection(port);
  await up.setMode({ type: 'slow', delay: SLOW });
  const inFlight = Array.from({ length: 5 }, () => get(port));
  while (up.stats().inFlight < 5) await new Promise((resolve) => setTimeout(resolve, 5));
  const started = performance.now();
  const closing = proxy.close(5_000);
  assert.equal(await connectOutcome(port), 'ECONNREFUSED');
  const idleClosedAt = await idle.closed;
  assert.ok(idleClosedAt - started < 200, `idle connection closed after ${Math.round(idleClosedAt - started)} ms`);
  const answers = await Promise.all(inFlight);
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
  await Promise.all(answers.map((a) => a.closedAfter));
  await closing;
  const took = performance.now() - started;
  assert.ok(took < SLOW + 500, `close() took ${Math.round(took)} ms`);
  assert.equal(proxy.inFlight, 0);
});

test('proxy.close(drainMs): requests still running after the drain bound are cut, and close() resolves', async (t) => {
  const up = await fixture(t, { mode: 'hang' });
  const { proxy, port } = await inProcess(t, up);
  const hanging = get(port).then(
    () => 'answered',
    () => 'cut',
  );
  while (up.stats().inFlight < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  const started = performance.now();
  await proxy.close(300);
  const took = performance.now() - started;
  assert.ok(took >= 280 && took < 1_000, `close(300) took ${Math.round(took)} ms`);
  assert.equal(await hanging, 'cut');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(up.stats().inFlight, 0, 'the upstream request was aborted too');
});

// --- the CLI: signals ------------------------------------------------------------------------------

interface Child {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

async function cli(t: TestContext, target: string): Promise<Child> {
  const child = spawn(process.execPath, [BIN, '--target', target, '--port', '0'], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the CLI did not start:\n${stdout}\n${stderr}`)), 10_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void exited.then(() => reject(new Error(`the CLI exited:\n${stdout}\n${stderr}`)));
  });
  return { child, port, stderr: () => stderr, exited };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: requests in flight finish with 200, idle keep-alive connections close, new connections are refused, exit 0 within the drain bound`, async (t) => {
    const up = await fixture(t);
    const proxy = await cli(t, up.url);
    const idle = await idleConnection(proxy.port);
    await up.setMode({ type: 'slow', delay: SLOW });
    const inFlight = Array.from({ length: 5 }, () => get(proxy.port));
    while (up.stats().inFlight < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    const signalledAt = performance.now();
    proxy.child.kill(signal);
    const idleClosedAt = await idle.closed;
    assert.ok(idleClosedAt - signalledAt < 300, `idle connection closed after ${Math.round(idleClosedAt - signalledAt)} ms`);
    assert.equal(await connectOutcome(proxy.port), 'ECONNREFUSED');
    const answers = await Promise.all(inFlight);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200], 'no accepted request is dropped');
    const exit = await proxy.exited;
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
    assert.ok(exit.at - signalledAt < SLOW + 1_500, `exited ${Math.round(exit.at - signalledAt)} ms after ${signal}`);
    assert.match(proxy.stderr(), new RegExp(`${signal}: stopped accepting; waiting for 5 requests in flight`));
    assert.equal(up.stats().aborted, 0);
  });
}

test('a second signal while draining exits 1 at once', async (t) => {
  const up = await fixture(t, { mode: 'hang' });
  const proxy = await cli(t, up.url);
  const hanging = get(proxy.port, '/', 20_000).then(
    () => 'answered',
    () => 'cut',
  );
  while (up.stats().inFlight < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  proxy.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(proxy.child.exitCode, null, 'still draining: the request is in flight');
  const secondAt = performance.now();
  proxy.child.kill('SIGTERM');
  const exit = await proxy.exited;
  assert.equal(exit.code, 1);
  assert.ok(exit.at - secondAt < 1_000, `exited ${Math.round(exit.at - secondAt)} ms after the second signal`);
  assert.equal(await hanging, 'cut');
  assert.match(proxy.stderr(), /SIGTERM again: exiting without waiting/);
});
