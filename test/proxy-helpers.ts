/**
 * Shared helpers of the `proxy-*.test.ts` files (not a test file itself): a real proxy and real
 * fixture upstreams on 127.0.0.1 port 0, closed when the test ends, and clients whose every
 * request is bounded by a timeout, so a bug fails a test instead of hanging the suite.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import type { Proxy, ProxyOptions } from '../lib/index.js';
import { delay, startedProxy, startedUpstream, waitFor, type StartedProxy } from './lifecycle-helpers.js';

/** Default bound of one request made by these helpers, ms. */
export const REQUEST_TIMEOUT = 3_000;

/** A fixture upstream closed when `t` ends. */
export const upstream = startedUpstream;

/** A proxy listening on 127.0.0.1 port 0, closed (with a short drain) when `t` ends. */
export function proxy(t: TestContext, options: ProxyOptions): Promise<StartedProxy> {
  return startedProxy(t, options);
}

export type { StartedProxy };

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  trailers: NodeJS.Dict<string>;
  body: Buffer;
  text: string;
  /** Milliseconds from sending the request to the end of the response. */
  elapsed: number;
}

export interface RequestOptions {
  method?: string;
  /** An object, or a flat `[name, value, ...]` list to send repeated or unusual fields as written. */
  headers?: http.OutgoingHttpHeaders | string[];
  body?: string | Buffer;
  timeout?: number;
}

/**
 * One request on a fresh connection (no agent), resolved with the whole response. Rejects when the
 * response is cut off, and after `timeout` ms.
 */
export function request(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: false,
      signal: AbortSignal.timeout(options.timeout ?? REQUEST_TIMEOUT),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          trailers: res.trailers,
          body,
          text: body.toString('utf8'),
          elapsed: performance.now() - started,
        });
      });
    });
    req.end(options.body);
  });
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
 * For requests fetch() and http.request() refuse to send.
 */
export function rawExchange(port: number, text: string | Buffer, timeout = REQUEST_TIMEOUT): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeout);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

export interface RawResponse {
  status: number;
  /** Field names lower-cased; repeated fields joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/** The status and fields of a response head (the text before its blank line). */
export function parseHead(head: string): Omit<RawResponse, 'body'> {
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers };
}

/** Parses the first response head of a raw exchange (and everything after it as the body). */
export function parseRaw(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete response head in ${JSON.stringify(text)}`);
  return { ...parseHead(text.slice(0, end)), body: text.slice(end + 4) };
}

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
