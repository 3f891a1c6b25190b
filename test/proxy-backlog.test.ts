/**
 * The listen backlog (SERVER_LIMITS.backlog): a burst of connections that arrives while the proxy's
 * event loop is busy waits in the kernel's accept queue instead of being dropped. With Node's
 * default of 511, connections past it were only accepted after a TCP retransmit (a second or
 * more), which wrk counted as client timeouts at 1000 connections.
 *
 * The proxy runs in a child process that blocks its own event loop until the test says so, so that
 * every connection of the burst has to wait in the accept queue. The kernel completes the
 * handshake of a queued connection by itself, so each client sees `connect` while the child is
 * still blocked; past a full queue its SYNs are dropped, and those clients would not connect
 * until the child accepted again. The test waits for conditions, not for time: it passes or fails
 * the same way on a busy machine.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SERVER_LIMITS } from '../lib/proxy/proxy.js';

/** More than Node's default backlog (511), fewer than a default `ulimit -n` (1024). */
const BURST = 700;
/** Bounds that only a broken backlog (or a stuck machine) reaches. */
const CONNECT_BOUND_MS = 10_000;
const BLOCK_BOUND_MS = 20_000;

const CHILD = `
const { subscribe } = await import('node:diagnostics_channel');
const { existsSync } = await import('node:fs');
const { createProxy } = await import(process.env.PROXY_LIB);
const proxy = createProxy({ target: 'http://127.0.0.1:9' });
const { port } = await proxy.listen(0, '127.0.0.1');
// Node publishes every accepted TCP connection here: the proxy's server stays its own.
let accepted = 0;
subscribe('net.server.socket', () => accepted++);
process.on('message', (message) => {
  if (message !== 'block') return;
  process.send({ blocking: true });
  setTimeout(() => {
    // Blocked (nothing is accepted) until the test has seen every client connect.
    const until = Date.now() + ${BLOCK_BOUND_MS};
    while (!existsSync(process.env.UNBLOCK_FILE) && Date.now() < until);
    const report = setInterval(() => {
      if (accepted < ${BURST}) return;
      clearInterval(report);
      process.send({ accepted });
    }, 20);
  }, 20);
});
process.send({ port });
`;

test(`a burst of ${BURST} connections while the proxy is busy waits in the accept queue, none dropped`, { timeout: 60_000 }, async (t) => {
  assert.ok(SERVER_LIMITS.backlog > BURST);
  const dir = mkdtempSync(join(tmpdir(), 'proxy-backlog-'));
  const unblock = join(dir, 'unblock');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, PROXY_LIB: new URL('../lib/index.ts', import.meta.url).href, UNBLOCK_FILE: unblock },
  });
  const sockets: net.Socket[] = [];
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const message = async <T>(key: string): Promise<T> => {
    for (;;) {
      const [reply] = (await once(child, 'message', { signal: AbortSignal.timeout(BLOCK_BOUND_MS + 10_000) })) as [Record<string, T>];
      if (key in reply) return reply[key]!;
    }
  };
  const port = await message<number>('port');
  child.send('block');
  await message('blocking');
  let connected = 0;
  const allConnected = new Promise<void>((resolve) => {
    for (let i = 0; i < BURST; i++) {
      const socket = net.connect(port, '127.0.0.1', () => {
        if (++connected === BURST) resolve();
      });
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
  });
  const bound = new Promise<void>((resolve) => setTimeout(resolve, CONNECT_BOUND_MS).unref());
  await Promise.race([allConnected, bound]);
  const connectedWhileBlocked = connected;
  writeFileSync(unblock, '');
  assert.equal(connectedWhileBlocked, BURST, 'every client connected while the proxy accepted nothing: the queue held them all');
  assert.equal(await message<number>('accepted'), BURST);
});
