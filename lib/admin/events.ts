/**
 * The Server-Sent Events hub behind `GET /events`: one `stateChange` listener on the proxy and one
 * `sample` listener on the rate sampler, however many clients are connected, fanned out to a Set
 * of responses. A client that goes away is dropped from the Set and leaves nothing behind.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CircuitState } from '../breaker/breaker.js';
import type { StateChangeInfo } from '../proxy/proxy.js';
import type { ProxySnapshot } from '../proxy/snapshot.js';
import type { ObservedProxy } from './observed.js';
import type { RateSampler } from './rates.js';

/** One transition as the dashboard's timeline shows it. */
export interface TransitionRecord {
  target: string;
  from: CircuitState;
  to: CircuitState;
  failures: number;
  /** Wall-clock time (epoch ms). */
  time: number;
}

/** The data of an `event: state` message. */
export interface StateEventData extends TransitionRecord {
  /** When the next probe is due (epoch ms), or null unless OPEN (and not forced). */
  nextAttemptAt: number | null;
  /** Held OPEN by a manual `open`. */
  forced: boolean;
}

export interface EventHubOptions {
  /** Builds the data of each `event: stats` message, from the snapshot the sampler just read. */
  stats: (snapshot: ProxySnapshot) => unknown;
  /** A heartbeat comment every this many samples, so idle intermediaries keep the stream. @default 15 */
  heartbeatEvery?: number;
  /** Streams open at once; more get 503. @default 100 */
  maxClients?: number;
  /** Bytes a slow client may have queued before it is cut off, so it cannot grow our memory. @default 1 MiB */
  maxBuffered?: number;
  /** Transitions remembered per target for the timeline. @default 50 */
  recent?: number;
}

export class EventHub {
  readonly #proxy: ObservedProxy;
  readonly #sampler: RateSampler;
  readonly #stats: (snapshot: ProxySnapshot) => unknown;
  readonly #heartbeatEvery: number;
  readonly #maxClients: number;
  readonly #maxBuffered: number;
  readonly #recentLimit: number;
  readonly #clients = new Set<ServerResponse>();
  readonly #recent = new Map<string, TransitionRecord[]>();
  #ticks = 0;
  #attached = false;

  constructor(proxy: ObservedProxy, sampler: RateSampler, options: EventHubOptions) {
    this.#proxy = proxy;
    this.#sampler = sampler;
    this.#stats = options.stats;
    this.#heartbeatEvery = options.heartbeatEvery ?? 15;
    this.#maxClients = options.maxClients ?? 100;
    this.#maxBuffered = options.maxBuffered ?? 1024 * 1024;
    this.#recentLimit = options.recent ?? 50;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Starts listening to the proxy and the sampler (once; `close()` undoes it). */
  attach(): void {
    if (this.#attached) return;
    this.#attached = true;
    this.#proxy.on('stateChange', this.#onStateChange);
    this.#sampler.on('sample', this.#onSample);
  }

  /** The last transitions of `origin`, oldest first. */
  recent(origin: string): TransitionRecord[] {
    return [...(this.#recent.get(origin) ?? [])];
  }

  /**
   * Answers `GET /events`: keeps `res` open as an event stream until the client leaves, or until
   * `endAt` (epoch ms) when given: a stream lasts no longer than the session that opened it.
   */
  connect(req: IncomingMessage, res: ServerResponse, endAt?: number): void {
    if (this.#clients.size >= this.#maxClients) {
      const body = JSON.stringify({ error: 'too_many_clients', message: `At most ${this.#maxClients} event streams at once.` });
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '5', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx and friends buffer responses unless told otherwise; a buffered stream is not live.
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    req.socket.setNoDelay(true);
    this.#clients.add(res);
    const timer = endAt === undefined ? undefined : setTimeout(() => this.#end(res), Math.max(0, endAt - Date.now()));
    timer?.unref();
    res.once('close', () => {
      clearTimeout(timer);
      this.#clients.delete(res);
    });
    this.#write(res, 'retry: 2000\n: connected\n\n');
  }

  /** Ends every stream and stops listening. */
  close(): void {
    if (this.#attached) {
      this.#proxy.off('stateChange', this.#onStateChange);
      this.#sampler.off('sample', this.#onSample);
      this.#attached = false;
    }
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }

  readonly #onStateChange = (info: StateChangeInfo): void => {
    const record: TransitionRecord = { target: info.target, from: info.from, to: info.to, failures: info.failures, time: Date.now() };
    let list = this.#recent.get(info.target);
    if (list === undefined) this.#recent.set(info.target, (list = []));
    list.push(record);
    if (list.length > this.#recentLimit) list.shift();
    if (this.#clients.size === 0) return;
    // The breaker emits after its state is set, so the snapshot here already shows `to`.
    const snapshot = this.#proxy.snapshot().targets.find((target) => target.target === info.target);
    const data: StateEventData = { ...record, nextAttemptAt: snapshot?.nextAttemptAt ?? null, forced: snapshot?.forced ?? false };
    this.#broadcast(`event: state\ndata: ${JSON.stringify(data)}\n\n`);
  };

  readonly #onSample = (snapshot: ProxySnapshot): void => {
    if (this.#recent.size > 0) {
      const origins = new Set(snapshot.targets.map((target) => target.target));
      for (const origin of this.#recent.keys()) if (!origins.has(origin)) this.#recent.delete(origin);
    }
    if (this.#clients.size === 0) return;
    this.#ticks++;
    let message = `event: stats\ndata: ${JSON.stringify(this.#stats(snapshot))}\n\n`;
    if (this.#ticks % this.#heartbeatEvery === 0) message = `: heartbeat\n\n${message}`;
    this.#broadcast(message);
  };

  /** Ends one stream; out of the Set first, since a write after the end would throw. */
  #end(res: ServerResponse): void {
    this.#clients.delete(res);
    res.end();
  }

  #broadcast(message: string): void {
    for (const res of this.#clients) this.#write(res, message);
  }

  #write(res: ServerResponse, message: string): void {
    if (res.writableLength > this.#maxBuffered) {
      this.#clients.delete(res);
      res.destroy();
      return;
    }
    res.write(message);
  }
}
