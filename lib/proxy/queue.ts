/**
 * A bounded FIFO of requests waiting for a slot at the concurrency limit (Envoy's
 * `max_pending_requests`, a bulkhead's queue). One queue per route: the request may go to any of
 * the route's targets, so the first slot freed on any of them is the queue head's. A queued
 * request is not admitted by any breaker yet: when a slot frees it goes through `route.pick()`
 * like a new request (the circuit may have opened meanwhile, and then it gets the fallback or the
 * 503). It waits `queueTimeout` ms at most, on the queue's one deadline timer, not a timer of its
 * own; a client that leaves takes its request out of the queue.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DeadlineQueue, type DeadlineEntry } from '../deadlines.js';
import type { Admission, Route } from './routes.js';

/** What a queue hands its requests to: the proxy, which forwards or answers them. */
export interface QueueDispatcher {
  /** Sends a request `route.pick()` admitted. */
  forward(route: Route, req: IncomingMessage, res: ServerResponse, path: string, admission: Admission): void;
  /** Answers a request no target admits (the fallback, or the 503 for `reason`). */
  refuse(route: Route, req: IncomingMessage, res: ServerResponse, path: string, reason: 'open' | 'limited'): void;
}

const kQueued = Symbol('proxy-breaker.queued');
type Tagged = ServerResponse & { [kQueued]?: QueuedRequest };

class QueuedRequest implements DeadlineEntry {
  deadlinePrev: DeadlineEntry | undefined = undefined;
  deadlineNext: DeadlineEntry | undefined = undefined;
  deadlineAt = 0;

  constructor(
    readonly queue: AdmissionQueue,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly path: string,
    readonly dispatcher: QueueDispatcher,
  ) {}

  expire(): void {
    this.queue.expired(this);
  }
}

export class AdmissionQueue {
  readonly route: Route;
  /** Requests allowed to wait at once. */
  readonly limit: number;
  /** In arrival order, which is also deadline order: every entry waits the same time. */
  readonly #waiting: DeadlineQueue;
  /** Requests that waited their whole `queueTimeout` and got the 503. */
  timedOut = 0;
  /** Requests that entered the queue. */
  queued = 0;
  #scheduled = false;
  readonly #drain = (): void => this.#admitWaiting();

  constructor(route: Route, limit: number, timeout: number) {
    this.route = route;
    this.limit = limit;
    this.#waiting = new DeadlineQueue(timeout);
  }

  get length(): number {
    return this.#waiting.size;
  }

  get timeout(): number {
    return this.#waiting.timeout;
  }

  /** Queues a request the route's targets refused for their limit; false when the queue is full. */
  offer(req: IncomingMessage, res: ServerResponse, path: string, dispatcher: QueueDispatcher): boolean {
    if (this.#waiting.size >= this.limit) return false;
    const entry = new QueuedRequest(this, req, res, path, dispatcher);
    (res as Tagged)[kQueued] = entry;
    res.on('close', onQueuedClose);
    this.#waiting.add(entry);
    this.queued++;
    return true;
  }

  /**
   * A slot freed on one of the route's targets. The head is admitted on the next tick, not inside
   * the finishing request's bookkeeping: by then its connection is back in the pool for reuse.
   */
  wake(): void {
    if (this.#scheduled || this.#waiting.size === 0) return;
    this.#scheduled = true;
    process.nextTick(this.#drain);
  }

  /** The queue's deadline passed for `entry`: today's 503 `connection_limit_reached`. */
  expired(entry: QueuedRequest): void {
    this.timedOut++;
    release(entry);
    entry.dispatcher.refuse(this.route, entry.req, entry.res, entry.path, 'limited');
  }

  /** The client left while its request waited. */
  left(entry: QueuedRequest): void {
    this.#waiting.remove(entry);
    release(entry);
  }

  /**
   * Ends waiting for everything queued (the route was replaced by a reload): each request gets one
   * more try at its targets, else its answer now.
   */
  flush(): void {
    this.#admitWaiting();
    for (let entry = this.#waiting.first as QueuedRequest | undefined; entry !== undefined; entry = this.#waiting.first as QueuedRequest | undefined) {
      this.#take(entry);
      entry.dispatcher.refuse(this.route, entry.req, entry.res, entry.path, 'limited');
    }
  }

  #admitWaiting(): void {
    this.#scheduled = false;
    const route = this.route;
    for (let entry = this.#waiting.first as QueuedRequest | undefined; entry !== undefined; entry = this.#waiting.first as QueuedRequest | undefined) {
      const admission = route.pick();
      if (admission === undefined) {
        // Still full somewhere: wait on. Every target open now: the wait is over.
        if (someLimited(route)) return;
        this.#take(entry);
        entry.dispatcher.refuse(route, entry.req, entry.res, entry.path, 'open');
        continue;
      }
      this.#take(entry);
      entry.dispatcher.forward(route, entry.req, entry.res, entry.path, admission);
    }
  }

  #take(entry: QueuedRequest): void {
    this.#waiting.remove(entry);
    release(entry);
  }
}

function release(entry: QueuedRequest): void {
  const res = entry.res as Tagged;
  res.off('close', onQueuedClose);
  res[kQueued] = undefined;
}

function onQueuedClose(this: Tagged): void {
  const entry = this[kQueued];
  if (entry !== undefined) entry.queue.left(entry);
}

/**
 * Whether a target of `route` refused its last request for its concurrency limit: a slot will
 * free there, so waiting makes sense (the others, if any, are open).
 */
export function someLimited(route: Route): boolean {
  for (const target of route.targets) if (target.lastRefusal === 'limited') return true;
  return false;
}
