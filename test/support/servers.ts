/**
 * The one place tests start servers: a fixture upstream, a proxy, or a server of the test's own,
 * each on 127.0.0.1 port 0 and closed when the test that made it ends.
 */
import { once } from 'node:events';
import type * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import { startUpstream, type Upstream, type UpstreamOptions } from '../../fixtures/upstream.js';
import { createProxy, type Proxy, type ProxyOptions } from '../../lib/index.js';

/** A fixture upstream (127.0.0.1, port 0), closed when `t` ends. */
export async function startedUpstream(t: TestContext, options: UpstreamOptions = {}): Promise<Upstream> {
  const started = await startUpstream(options);
  t.after(() => started.close());
  return started;
}

export interface StartedProxy {
  proxy: Proxy;
  port: number;
  /** `http://127.0.0.1:PORT` (`https://localhost:PORT` from `startedTlsProxy()`) */
  url: string;
}

/**
 * A proxy listening on 127.0.0.1 port 0, closed when `t` ends with `drainMs` for requests still in
 * flight (hanging ones are cut off after it).
 */
export async function startedProxy(t: TestContext, options: ProxyOptions, drainMs = 100): Promise<StartedProxy> {
  const proxy = createProxy(options);
  const { port } = await proxy.listen(0, '127.0.0.1');
  t.after(() => proxy.close(drainMs));
  return { proxy, port, url: `http://127.0.0.1:${port}` };
}

/**
 * Listens with a server of the test's own (an upstream the fixture cannot play) on 127.0.0.1 port
 * 0, closed with its connections when `t` ends; resolves to its base URL (https for an HTTPS one).
 */
export async function listening(t: TestContext, server: http.Server | https.Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `${server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

export interface RawTarget {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Connections the proxy opened, and how many of them it has closed. */
  opened: number;
  closed: number;
}

/**
 * A bare TCP upstream on 127.0.0.1 port 0, for what the fixture cannot play (a stall mid-body, an
 * early answer, a head it will not send): `onConnection` plays the target on each socket. Closed
 * with its connections when `t` ends.
 */
export async function rawTarget(t: TestContext, onConnection: (socket: net.Socket) => void): Promise<RawTarget> {
  const sockets = new Set<net.Socket>();
  const state = { url: '', opened: 0, closed: 0 };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    state.opened++;
    socket.on('error', () => undefined);
    socket.on('close', () => state.closed++);
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  );
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return state;
}
