/**
 * Shared helpers of the hostile-input suite (not a test file itself): a proxy on 127.0.0.1 port 0
 * in front of a fixture, raw TCP clients that write exactly the bytes given, a parser for the
 * responses they get back, and tiny raw upstreams that answer with exactly the bytes given.
 * Everything is bounded by a timeout, so a weakness fails a test instead of hanging the suite.
 */
import { readdirSync } from 'node:fs';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Upstream, UpstreamOptions } from '../../fixtures/upstream.js';
import type { Proxy, ProxyOptions } from '../../lib/index.js';
import { delay, startedProxy, startedUpstream, waitFor, type StartedProxy } from '../lifecycle-helpers.js';
import { parseHead, type RawResponse } from '../proxy-helpers.js';

/** Bound of one raw exchange, ms. */
export const RAW_TIMEOUT = 3_000;

/** The request that smuggling payloads try to slip past the proxy. */
export const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';

/** A fixture upstream closed when `t` ends. */
export const fixture = startedUpstream;

export interface Setup {
  proxy: Proxy;
  port: number;
  up: Upstream;
}

/** A fixture and a proxy (via `listen()`) in front of it, both closed when `t` ends. */
export async function setup(t: TestContext, options: Omit<ProxyOptions, 'target'> = {}, upstream: UpstreamOptions = {}): Promise<Setup> {
  const up = await fixture(t, upstream);
  const { proxy, port } = await startedProxy(t, { ...options, target: up.url });
  return { proxy, port, up };
}

/** A proxy listening on 127.0.0.1 port 0, closed when `t` ends. */
export function listening(t: TestContext, options: ProxyOptions): Promise<StartedProxy> {
  return startedProxy(t, options);
}

export function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

export interface RawResult {
  /** Everything received, as latin1 text. */
  text: string;
  /** The server closed (or reset) the connection within the timeout. */
  closed: boolean;
  /** Milliseconds from connecting to the close (or the timeout). */
  elapsed: number;
}

export interface RawOptions {
  timeout?: number;
  /** Bytes written later, after `delay` ms each. */
  then?: Array<{ delay: number; data: string | Buffer }>;
}

/**
 * Writes `data` on a fresh TCP connection and resolves once the server closes it, or after
 * `timeout` ms (then `closed` is false and the socket is destroyed).
 */
export function raw(port: number, data: string | Buffer, { timeout = RAW_TIMEOUT, then = [] }: RawOptions = {}): Promise<RawResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timers: NodeJS.Timeout[] = [];
    let closed = true;
    socket.on('connect', () => {
      socket.write(data);
      let at = 0;
      for (const step of then) {
        at += step.delay;
        timers.push(setTimeout(() => socket.writable && socket.write(step.data), at));
      }
    });
    timers.push(
      setTimeout(() => {
        closed = false;
        socket.destroy();
      }, timeout),
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const timer of timers) clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed, elapsed: performance.now() - started });
    });
  });
}

export type { RawResponse };

/** Parses every complete response in `text` (Content-Length, chunked, or to the end). */
export function responses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const { status, headers } = parseHead(rest.slice(0, end));
    rest = rest.slice(end + 4);
    let body = '';
    if (status < 200 || status === 204 || status === 304) {
      // no body
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        if (lineEnd === -1) break;
        const size = parseInt(rest.slice(0, lineEnd), 16);
        rest = rest.slice(lineEnd + 2);
        if (size === 0) {
          rest = rest.slice(rest.indexOf('\r\n\r\n') === 0 ? 4 : rest.indexOf('\r\n') + 2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else {
      body = rest;
      rest = '';
    }
    out.push({ status, headers, body });
  }
  return out;
}

/** The one response in `text`; throws when there is not exactly one. */
export function only(text: string): RawResponse {
  const all = responses(text);
  if (all.length !== 1) throw new Error(`expected one response, got ${all.length} in ${JSON.stringify(text.slice(0, 400))}`);
  return all[0]!;
}

export interface RawUpstream {
  url: string;
  /** Connections that sent at least one byte. */
  requests(): number;
  /** Everything received, per connection. */
  received(): string[];
  close(): Promise<void>;
}

/**
 * A TCP server that plays a broken HTTP target: on a connection's first bytes it calls `onRequest`,
 * which writes whatever it likes. Closed when `t` ends.
 */
export async function rawUpstream(t: TestContext, onRequest: (socket: net.Socket) => void): Promise<RawUpstream> {
  const sockets = new Set<net.Socket>();
  const received: string[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const index = received.push('') - 1;
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      const first = received[index] === '';
      received[index] += chunk.toString('latin1');
      if (first) onRequest(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  t.after(close);
  return {
    url: `http://127.0.0.1:${portOf(server)}`,
    requests: () => received.filter((text) => text !== '').length,
    received: () => [...received],
    close,
  };
}

/** Open file descriptors of this process (Linux). */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

let gcFunction: (() => void) | undefined;

/** A full garbage collection, without needing `--expose-gc` on the command line. */
export function gc(): void {
  if (gcFunction === undefined) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
  gcFunction();
}

export { delay, waitFor };

/** `Proxy-Status` of a proxy-made answer with this error type. */
export function proxyStatus(error: string): string {
  return `proxy-breaker; error=${error}`;
}
