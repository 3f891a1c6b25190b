/**
 * Small clients for the routing tests: every request has a timeout, so a routing bug fails a
 * test instead of hanging the run.
 */
import * as assert from 'node:assert/strict';
import type * as http from 'node:http';
import type { TestContext } from 'node:test';
import type { Upstream } from '../fixtures/upstream.js';
import { ConfigError } from '../lib/errors.js';
import type { ProxyOptions } from '../lib/proxy/options.js';
import type { Proxy } from '../lib/proxy/proxy.js';
import { request } from './support/http.js';
import { raw, responses } from './support/raw.js';
import { startedProxy, startedUpstream } from './support/servers.js';
import { waitFor as lifecycleWaitFor } from './support/wait.js';

/** The routing tests' view of a reply: the body as text. */
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
export async function send(port: number, path: string, options: SendOptions = {}): Promise<Reply> {
  const reply = await request({ port, path }, options);
  return { status: reply.status, headers: reply.headers, body: reply.text };
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
export async function sendRaw(port: number, requestLine: string, host = 'proxy.test', timeout = 3000): Promise<Reply> {
  const result = await raw(port, `${requestLine}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, { timeout });
  if (!result.closed) throw new Error(`${requestLine} timed out after ${timeout} ms`);
  const [response] = responses(result.text);
  if (response === undefined) throw new Error(`no response head for ${requestLine}: ${JSON.stringify(result.text)}`);
  return { status: response.status, headers: response.headers, body: response.body };
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
  const upstreams = await Promise.all(Array.from({ length: count }, () => startedUpstream(t)));
  const { proxy, port } = await startedProxy(t, options(upstreams.map((upstream) => upstream.url)), 0);
  return { upstreams, proxy, port };
}
