/**
 * Large bodies stream with backpressure: a 256 MiB download and a 256 MiB upload pass through while
 * the proxy's memory stays far below the body size.
 *
 * The proxy runs in a child process, so its memory is measured apart from the fixture and the
 * client (which share this process and allocate a buffer per chunk they move). The child samples
 * `process.memoryUsage()` every 10 ms and reports the peak over its own baseline. The download's
 * client stops reading for a while first, and the upload's target starts reading late: without
 * backpressure the proxy would take the whole body from the fast side into memory meanwhile.
 * The child runs a minor GC before each sample, so the peak measures what the proxy holds rather
 * than garbage V8 has not collected yet (tens of MB at these rates before the proxy freed its body
 * buffers itself, lib/http1/release.ts; that the freeing keeps RSS low is `npm run bench`'s to show).
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';

const SIZE = 256 * 1024 * 1024;
const BOUND = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;

const CHILD = `
const { createProxy } = await import(process.env.PROXY_LIB);
const proxy = createProxy({ target: process.env.PROXY_TARGET, timeout: 5000 });
const { port } = await proxy.listen(0, '127.0.0.1');
let base = process.memoryUsage();
let peak = { rss: 0, arrayBuffers: 0 };
const sample = () => {
  globalThis.gc({ type: 'minor' });
  const now = process.memoryUsage();
  peak.rss = Math.max(peak.rss, now.rss - base.rss);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers - base.arrayBuffers);
};
setInterval(sample, 10);
process.on('message', async (message) => {
  if (message === 'baseline') {
    base = process.memoryUsage();
    peak = { rss: 0, arrayBuffers: 0 };
    process.send({ baseline: base });
  } else if (message === 'peak') {
    sample();
    process.send({ peak });
  } else if (message === 'exit') {
    await proxy.close(100);
    process.exit(0);
  }
});
process.send({ port });
`;

interface Growth {
  rss: number;
  arrayBuffers: number;
}

let up: Upstream;
let child: ChildProcess;
let port: number;

function ask<T>(message: string, key: string): Promise<T> {
  const answer = new Promise<T>((resolve) => {
    const onMessage = (reply: Record<string, unknown>): void => {
      if (!(key in reply)) return;
      child.off('message', onMessage);
      resolve(reply[key] as T);
    };
    child.on('message', onMessage);
  });
  child.send(message);
  return answer;
}

before(async () => {
  up = await startUpstream();
  child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', CHILD], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, PROXY_LIB: new URL('../lib/index.ts', import.meta.url).href, PROXY_TARGET: up.url },
  });
  const [first] = (await once(child, 'message', { signal: AbortSignal.timeout(10_000) })) as [{ port: number }];
  port = first.port;
});

after(async () => {
  if (child.exitCode === null) {
    child.send('exit');
    await once(child, 'exit', { signal: AbortSignal.timeout(2_000) }).catch(() => child.kill());
  }
  await up.close();
});

function assertBounded(growth: Growth): void {
  const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (process.env.PROXY_MEMORY_DEBUG) console.log(`rss +${mb(growth.rss)}, arrayBuffers +${mb(growth.arrayBuffers)}`);
  assert.ok(growth.rss < BOUND, `the proxy's rss grew by ${mb(growth.rss)}`);
  assert.ok(growth.arrayBuffers < BOUND, `the proxy's arrayBuffers grew by ${mb(growth.arrayBuffers)}`);
}

test('a 256 MiB download passes through in bounded memory, to a client that pauses', { timeout: 15_000 }, async () => {
  await ask('baseline', 'baseline');
  const received = await new Promise<number>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/bytes/${SIZE}`, agent: false, signal: AbortSignal.timeout(10_000) });
    req.on('error', reject);
    req.on('response', (res) => {
      let bytes = 0;
      res.on('error', reject);
      res.pause();
      setTimeout(() => {
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve(bytes));
        res.resume();
      }, 500);
    });
  });
  assert.equal(received, SIZE);
  assertBounded(await ask<Growth>('peak', 'peak'));
});

test('a 256 MiB upload passes through in bounded memory, to a target that reads late', { timeout: 15_000 }, async () => {
  // `slow` starts reading the body after its delay: meanwhile a proxy without backpressure would
  // take in the whole upload from the fast client.
  await up.setMode({ type: 'slow', delay: 500 });
  await ask('baseline', 'baseline');
  const chunk = Buffer.alloc(CHUNK, 'u');
  let left = SIZE;
  const body = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      left -= CHUNK;
      this.push(chunk);
    },
  });
  const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/upload',
      agent: false,
      headers: { 'content-length': SIZE },
      signal: AbortSignal.timeout(10_000),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (part: string) => (text += part));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    pipeline(body, req).catch(reject);
  });
  assert.equal(reply.status, 200);
  assert.equal((JSON.parse(reply.text) as { bodyLength: number }).bodyLength, SIZE);
  assertBounded(await ask<Growth>('peak', 'peak'));
});
