/**
 * Shared helpers of the `admin-*.test.ts` files (not a test file itself): a real proxy in front of
 * a fixture upstream plus its admin server, all on 127.0.0.1 port 0 and closed when the test ends;
 * an HTTP client and an SSE reader whose every wait is bounded.
 */
import * as http from 'node:http';
import type { TestContext } from 'node:test';
import type { Upstream } from '../fixtures/upstream.js';
import { startAdminServer, type AdminServer } from '../lib/admin/index.js';
import { request, type Reply } from './support/http.js';
import { startedProxy, startedUpstream } from './support/servers.js';
import { waitFor } from './support/wait.js';
import type { Proxy, ProxyBreakerOptions, ProxyOptions } from '../lib/index.js';

export const TIMEOUT = 3_000;

export interface Stack {
  upstream: Upstream;
  proxy: Proxy;
  /** `http://127.0.0.1:PORT` of the proxy. */
  proxyUrl: string;
  admin: AdminServer;
  /** The upstream's origin, URL-encoded for `/breakers/{target}`. */
  encoded: string;
}

export interface StackOptions {
  breaker?: ProxyBreakerOptions;
  token?: string;
  /** Ms between rate samples and SSE `stats` events. @default 1000 */
  sampleInterval?: number;
  proxy?: Omit<ProxyOptions, 'target' | 'breaker'>;
}

/** Upstream -> proxy -> admin server, closed in reverse order when `t` ends. */
export async function stack(t: TestContext, options: StackOptions = {}): Promise<Stack> {
  const upstream = await startedUpstream(t);
  const { proxy, url: proxyUrl } = await startedProxy(t, {
    target: upstream.url,
    breaker: { failureThreshold: 3, resetTimeout: 60_000, jitter: 0, ...options.breaker },
    ...options.proxy,
  });
  const admin = await startAdminServer(proxy, {
    port: 0,
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.sampleInterval === undefined ? {} : { sampleInterval: options.sampleInterval }),
  });
  t.after(() => admin.close());
  return { upstream, proxy, proxyUrl, admin, encoded: encodeURIComponent(upstream.url) };
}

export type { Reply };

/** One request on a fresh connection, bounded by `TIMEOUT`. */
export function fetchText(url: string, options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {}): Promise<Reply> {
  return request(url, { ...options, timeout: TIMEOUT });
}

/** Posts the login form as the dashboard's own page would; a header given as undefined is left out. */
export function postLogin(adminUrl: string, token: string, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  const all = { 'content-type': 'application/x-www-form-urlencoded', origin: adminUrl, 'sec-fetch-site': 'same-origin', ...headers };
  return request(`${adminUrl}/login`, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined)),
    body: new URLSearchParams({ token }).toString(),
    timeout: TIMEOUT,
  });
}

/** Signs in through the form; resolves to the `name=value` pair to send back as `Cookie`. */
export async function signIn(adminUrl: string, token: string): Promise<string> {
  const reply = await postLogin(adminUrl, token);
  if (reply.status !== 303) throw new Error(`sign-in answered ${reply.status}`);
  return String(reply.headers['set-cookie']![0]).split(';')[0]!;
}

/** Sends `count` requests through the proxy one after another; resolves to their statuses. */
export async function hit(proxyUrl: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await fetchText(`${proxyUrl}/`)).status);
  return statuses;
}

/** Makes the upstream answer 500 and sends enough requests to open the circuit. */
export async function trip(s: Stack, failures = 3): Promise<void> {
  await s.upstream.setMode({ type: 'status', status: 500 });
  await hit(s.proxyUrl, failures);
}

export interface SseEvent {
  event: string;
  data: string;
}

/** A Server-Sent Events client on a raw `http.get`, parsing the stream as the spec says. */
export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  res: http.IncomingMessage | undefined;
  readonly #req: http.ClientRequest;
  readonly #waiters = new Set<() => void>();
  #buffer = '';
  #event = '';
  #data: string[] = [];

  private constructor(url: string, headers: http.OutgoingHttpHeaders) {
    this.#req = http.get(url, { agent: false, headers });
  }

  /** Connects and resolves once the response head has arrived. */
  static open(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<SseReader> {
    const reader = new SseReader(url, headers);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SSE response from ${url}`)), TIMEOUT);
      reader.#req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      reader.#req.on('response', (res) => {
        clearTimeout(timer);
        reader.res = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => reader.#feed(chunk));
        res.on('error', () => undefined);
        resolve(reader);
      });
    });
  }

  #feed(chunk: string): void {
    this.#buffer += chunk;
    let newline: number;
    while ((newline = this.#buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + (this.#buffer.startsWith('\r\n', newline) ? 2 : 1));
      this.#line(line);
    }
    for (const wake of this.#waiters) wake();
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0) this.events.push({ event: this.#event || 'message', data: this.#data.join('\n') });
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return void this.comments.push(line.slice(1).trim());
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
  }

  /** Resolves with the first event (already received or coming) that `match` accepts. */
  next(match: (event: SseEvent) => boolean, timeout = TIMEOUT): Promise<SseEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.find(match);
        if (found === undefined) return false;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(found);
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`no matching SSE event within ${timeout} ms; got ${this.events.map((e) => e.event).join(', ')}`));
      }, timeout);
      if (!check()) this.#waiters.add(wake);
    });
  }

  close(): void {
    this.#req.destroy();
  }
}

/** Resolves once `predicate()` holds, polling every 10 ms; rejects after `timeout`. */
export function until(predicate: () => boolean, timeout = TIMEOUT): Promise<void> {
  return waitFor('a condition', predicate, timeout);
}
