/**
 * Shared helpers of the `proxy-*.test.ts` files (not a test file itself): a real proxy and real
 * fixture upstreams on 127.0.0.1 port 0, closed when the test ends, and clients whose every
 * request is bounded by a timeout, so a bug fails a test instead of hanging the suite.
 */
import type * as http from 'node:http';
import type { TestContext } from 'node:test';
import type { Proxy, ProxyOptions } from '../lib/index.js';
import * as support from './support/http.js';
import type { RequestOptions } from './support/http.js';
import { parseHead, parseRaw, raw, type RawResponse } from './support/raw.js';
import { startedProxy, startedUpstream, type StartedProxy } from './support/servers.js';
import { delay, waitFor } from './support/wait.js';

/** Default bound of one request made by these helpers, ms. */
export const REQUEST_TIMEOUT = 3_000;

/** A fixture upstream closed when `t` ends. */
export const upstream = startedUpstream;

/** A proxy listening on 127.0.0.1 port 0, closed (with a short drain) when `t` ends. */
export function proxy(t: TestContext, options: ProxyOptions): Promise<StartedProxy> {
  return startedProxy(t, options);
}

export type { StartedProxy };

/** The suite's view of the one reply type: `body` is the bytes. */
export type Reply = support.Reply & { body: Buffer };

export type { RequestOptions };

/**
 * One request on a fresh connection (no agent), resolved with the whole response. Rejects when the
 * response is cut off, and after `timeout` ms.
 */
export async function request(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  const reply = await support.request({ port, path }, { ...options, timeout: options.timeout ?? REQUEST_TIMEOUT });
  return { ...reply, body: reply.bytes };
}

/** The JSON echo of the fixture's `ok` mode. */
export interface Echo {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body?: string;
  bodyLength: number;
  trailers: Record<string, string>;
}

export function echo(reply: Reply): Echo {
  return JSON.parse(reply.text) as Echo;
}

/**
 * Writes `text` on a raw TCP connection and resolves with everything received until the server
 * closes it (or `timeout` ms pass: then with what arrived, so the test's assertion fails).
 */
export async function rawExchange(port: number, text: string | Buffer, timeout = REQUEST_TIMEOUT): Promise<string> {
  return (await raw(port, text, { timeout })).text;
}

export { parseHead, parseRaw, type RawResponse };

export { delay, waitFor };

/** The breaker snapshot of the proxy's target with this origin. */
export function targetOf(started: StartedProxy, origin: string): ReturnType<Proxy['snapshot']>['targets'][number] {
  const found = started.proxy.snapshot().targets.find((target) => target.target === origin);
  if (found === undefined) throw new Error(`no target ${origin}`);
  return found;
}

/** Values of every field named `name` (case-insensitive) in a flat raw header list. */
export function fields(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}
