/**
 * The listen backlog (SERVER_LIMITS.backlog): a burst of connections that arrives while the proxy's
 * event loop is busy waits in the kernel's accept queue instead of being dropped. With Node's
 * default of 511, connections past it were only accepted after a TCP retransmit (a second or
 * more), which wrk counted as client timeouts at 1000 connections.
 *
 * The proxy runs in a child process that blocks its own event loop for a moment, so that every
 * connection of the burst has to queue; the child then counts what it accepted shortly after.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { test } from 'node:test';
import { SERVER_LIMITS } from '../lib/proxy/proxy.js';

/** More than Node's default backlog (511), fewer than a default `ulimit -n` (1024). */
const BURST = 700;
/** How long the child blocks; its window to accept the burst afterwards is shorter than a SYN retransmit (1 s). */
const BLOCK_MS = 400;
const WINDOW_MS = 200;

const CHILD = `
const { subscribe } = await import('node:diagnostics_channel');
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
    const until = Date.now() + ${BLOCK_MS};
    while (Date.now() < until);
    setTimeout(() => process.send({ accepted }), ${WINDOW_MS});
  }, 20);
});
process.send({ port });
`;

test(`a burst of ${BURST} connections while the proxy is busy is accepted at once, not after retransmits`, { timeout: 15_000 }, async (t) => {
  assert.ok(SERVER_LIMITS.backlog > BURST);
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, PROXY_LIB: new URL('../lib/index.ts', import.meta.url).href },
  });
  const sockets: net.Socket[] = [];
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    child.kill();
  });
  const message = async <T>(key: string): Promise<T> => {
    for (;;) {
      const [reply] = (await once(child, 'message', { signal: AbortSignal.timeout(10_000) })) as [Record<string, T>];
      if (key in reply) return reply[key]!;
    }
  };
  const port = await message<number>('port');
  child.send('block');
  await message('blocking');
  for (let i = 0; i < BURST; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    sockets.push(socket);
  }
  assert.equal(await message<number>('accepted'), BURST);
});
