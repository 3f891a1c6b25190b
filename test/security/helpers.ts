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
import { startedProxy, startedUpstream, type StartedProxy } from '../support/servers.js';
import { delay, waitFor } from '../support/wait.js';

export { RAW_TIMEOUT, only, raw, responses, type RawOptions, type RawResponse, type RawResult } from '../support/raw.js';

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
