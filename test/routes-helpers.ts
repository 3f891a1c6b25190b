/**
 * Small clients for the routing tests: every request has a timeout, so a routing bug fails a
 * test instead of hanging the run.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';
import { ConfigError } from '../lib/errors.js';
import type { ProxyOptions } from '../lib/proxy/options.js';
import { createProxy, type Proxy } from '../lib/proxy/proxy.js';
import { waitFor as lifecycleWaitFor } from './lifecycle-helpers.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface SendOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  agent?: http.Agent;
  /** Ms before the request is abandoned with an error. @default 3000 */
  timeout?: number;
}

/** One request to `port` on 127.0.0.1; rejects on a network error or after `timeout` ms. */
export function send(port: number, path: string, options: SendOptions = {}): Promise<Reply> {
  const { method = 'GET', headers = {}, agent, timeout = 3000 } = options;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${path} timed out after ${timeout} ms`)), timeout);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

/** What the `ok` fixture echoes: the request as the upstream received it. */
export interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export function echo(reply: Reply): Echo {
  assert.equal(reply.status, 200, `expected the fixture's echo, got ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as Echo;
}

/**
 * Writes a request head byte for byte (for request-targets `http.request` would not send as is)
 * and reads the answer until the proxy closes the connection.
 */
export function sendRaw(port: number, requestLine: string, host = 'proxy.test', timeout = 3000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`${requestLine}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`${requestLine} timed out after ${timeout} ms`)), timeout);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return reject(new Error(`no response head for ${requestLine}: ${JSON.stringify(text)}`));
      const [statusLine, ...fields] = text.slice(0, end).split('\r\n');
      const headers: http.IncomingHttpHeaders = {};
      for (const field of fields) {
        const colon = field.indexOf(':');
        headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
      }
      let body = text.slice(end + 4);
      if (/chunked/i.test(String(headers['transfer-encoding'] ?? ''))) body = unchunk(body);
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body });
    });
  });
}

function unchunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!(size > 0)) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

/** Asserts a `ConfigError` with a stable code, the path of the offending option, and the message. */
export function assertConfigError(fn: () => unknown, path: string, message: string | RegExp): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'ERR_INVALID_CONFIG');
  assert.equal(caught.path, path);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

/** Polls `check` every 10 ms; fails after `timeout` ms naming `what`. */
export function waitFor(check: () => boolean, what: string, timeout = 2000): Promise<void> {
  return lifecycleWaitFor(what, check, timeout);
}

/** `count` fixture upstreams and a proxy on port 0 made from their URLs, all closed when `t` ends. */
export async function startRoutes(t: TestContext, count: number, options: (urls: string[]) => ProxyOptions): Promise<{ upstreams: Upstream[]; proxy: Proxy; port: number }> {
  const upstreams = await Promise.all(Array.from({ length: count }, () => startUpstream()));
  const proxy = createProxy(options(upstreams.map((upstream) => upstream.url)));
  t.after(async () => {
    await proxy.close(0);
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  });
  const { port } = await proxy.listen();
  return { upstreams, proxy, port };
}
