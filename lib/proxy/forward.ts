/**
 * One client request and its upstream exchange(s): send, stream both ways, and answer for the
 * proxy when the upstream could not. What the breaker, the counters and the events are told is
 * the attempt's (attempt.ts); this file says when.
 *
 * Hot path: the request goes out on the target's own keep-alive connection pool (lib/http1), which
 * calls the exchange's `ResponseSink` methods directly; the client-side listeners are shared
 * functions that find their exchange through a symbol, not closures made per request; the
 * response-header timeout is an entry in the route's deadline queue, not a timer per request.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ResponseSink, UpstreamConnection } from '../http1/connection.js';
import { releasableMemory, ReleaseQueue } from '../http1/release.js';
import { requestHead } from '../http1/request-head.js';
import type { ResponseHead } from '../http1/response-parser.js';
import { sendAnswer, type ProxyErrorType } from './answers.js';
import { ClientAttempt, type AttemptContext } from './attempt.js';
import { markFallback } from './fallback.js';
import { NOT_SENT } from './classify.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.js';
import { closeAfterResponse } from './linger.js';
import { normalizeRequestTarget } from './path.js';
import { someLimited } from './queue.js';
import { findRetryAfter, retryAfterMs } from './retry-after.js';
import type { Admission, Route } from './routes.js';
import type { Outcome, Target } from './target.js';

const kExchange = Symbol('proxy-breaker.exchange');
type Tagged<T> = T & { [kExchange]: Exchange };

/** Methods a failover retry may repeat (RFC 9110 9.2.2: idempotent). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export class Exchange extends ClientAttempt implements ResponseSink {
  readonly res: ServerResponse;
  /** Path and query sent upstream. */
  readonly path: string;
  readonly hasBody: boolean;
  /** The connection carrying the current attempt, until its response ended or failed. */
  upstream: UpstreamConnection | undefined = undefined;
  /** The current attempt went out on a connection that had carried a request before. */
  #reusedConnection = false;
  /** The body's last piece, held for `res.end()` so that trailers can go before it. */
  #lastChunk: Buffer | undefined = undefined;
  #drainListening = false;
  /**
   * Response-body pieces written to the client, freed as its socket takes them (release.ts);
   * `null` when `res.write` is not Node's own. Made at the first piece that is not the last, so a
   * small response never makes one.
   */
  #releases: ReleaseQueue | null | undefined = undefined;

  constructor(context: AttemptContext, req: IncomingMessage, res: ServerResponse, route: Route, path: string, hasBody: boolean) {
    super(context, req, route);
    this.res = res;
    this.path = path;
    this.hasBody = hasBody;
    (res as Tagged<ServerResponse>)[kExchange] = this;
    // `on`, not `once`: a response closes once, and once() would wrap the listener per request.
    res.on('close', onClientClose);
  }

  /** Sends the request to the admitted target. */
  send({ target, ticket }: Admission): void {
    // With a body to send, the wait for the head starts once it is out (requestSent), as Envoy's
    // route timeout starts at the end of the downstream request; until then the idle timeout
    // watches the upload, so a slow or stalled client is not charged to the target.
    this.begin(target, ticket, !this.hasBody);
    if (this.hasBody) this.route.idle.add(this);
    const req = this.req;
    const head = requestHead(req.method!, this.path, upstreamHeaders(target, req, this.context.preserveHost, false, this.route.config.forwarded));
    if (head === undefined) {
      // Not the target's doing (a rewrite produced a path Node's parser would never have passed).
      ticket.release();
      return this.answer(500, 'proxy_internal_error', 'error');
    }
    const connection = target.pool.acquire();
    this.upstream = connection;
    const bodyLength = req.headers['transfer-encoding'] !== undefined ? -1 : Number(req.headers['content-length'] ?? 0);
    connection.send(this, head, req.method === 'HEAD', this.hasBody ? req : undefined, bodyLength);
    this.#reusedConnection = connection.reused;
  }

  /** The whole request went out: now the target has the call timeout to answer. */
  requestSent(): void {
    if (this.outcome !== undefined || this.headReceived) return;
    this.route.idle.remove(this);
    this.deadlines.add(this);
  }

  /** Response headers arrived in time. */
  upstreamHead(head: ResponseHead): void {
    const status = head.statusCode;
    const retryOn = this.route.config.retryOn;
    if (retryOn !== undefined && retryOn.has(status) && this.#retryOnStatus(status, head)) return;
    this.headArrived(status, this.route.config.failureStatus.has(status));
    const res = this.res;
    if (res.destroyed) return this.#abortUpstream();
    this.status = status;
    // From here the body must keep moving (or the upload, while the target still reads it).
    this.route.idle.add(this);
    if (this.hasBody && !this.req.complete) closeAfterResponse(this.req, res);
    try {
      const fields = forwardResponseHeaders(head.rawHeaders, false, chunksResponse(res, status), this);
      // A fallback target's answer says it is one, as the static fallback's does.
      const standsFor = this.route.fallbackFor;
      if (standsFor !== undefined) markFallback(fields, someLimited(standsFor), standsFor.retryAfter());
      res.writeHead(status, head.statusMessage, fields);
    } catch (error) {
      // A head Node will not send on (a status below 100). The target broke the protocol.
      return this.protocolError(error);
    }
  }

  /** A piece of the response body: relayed, with the client's backpressure passed upstream. */
  upstreamData(chunk: Buffer, last: boolean): void {
    if (last) {
      this.#lastChunk = chunk;
      // It goes out with res.end(), without a callback: its memory is never freed by hand.
      if (this.#releases) this.#releases.hold = releasableMemory(chunk);
      return;
    }
    if (this.res.write(chunk, this.#releaseAfterWrite(chunk))) return;
    this.upstream?.pause();
    if (!this.#drainListening) {
      this.#drainListening = true;
      this.res.on('drain', onClientDrain);
    }
  }

  /**
   * The write callback that frees the memory of the socket read `chunk` is a piece of, once the
   * client's socket took every piece of it. Only when `res.write` is Node's own: a wrapper (a
   * compression middleware, say) may hold on to the pieces it is given.
   */
  #releaseAfterWrite(chunk: Buffer): ((error?: Error | null) => void) | undefined {
    const memory = releasableMemory(chunk);
    if (memory === undefined) return undefined;
    let releases = this.#releases;
    if (releases === undefined) releases = this.#releases = this.res.write === NODE_WRITE ? new ReleaseQueue() : null;
    return releases?.track(memory);
  }

  /** The upstream response ended completely. */
  upstreamEnd(trailers: string[] | undefined): void {
    this.upstream = undefined;
    if (this.outcome !== undefined) return;
    const res = this.res;
    // Response trailers pass through; they go before the end of the body.
    if (trailers !== undefined && trailers.length > 0) res.addTrailers(pairs(trailers));
    const last = this.#lastChunk;
    this.#lastChunk = undefined;
    if (last === undefined || last.length === 0) res.end();
    else res.end(last);
    this.succeed();
  }

  /**
   * No byte moved for the idle timeout. Whoever the proxy was waiting on stalled: the target (its
   * response body, or its reading of the request body) is charged; a client that stopped reading
   * the response or sending its body says nothing about the target, whose ticket goes back.
   */
  override idleExpire(): void {
    if (this.outcome !== undefined) return;
    const upstream = this.upstream;
    const timeout = this.route.idle.timeout;
    if (this.headReceived) {
      // The client stopped reading the response, or (a target answering while the upload goes
      // on, as a full-duplex stream does) stopped sending what the target may be waiting for.
      const clientStalled = upstream?.paused === true || (this.hasBody && !this.req.complete && upstream?.bodyWaiting !== true);
      // Headers are out: the client can only be cut off, so that it sees the body is incomplete.
      if (clientStalled) this.abandon();
      else {
        this.chargeIdle(timeout);
        this.finish('body_timeout');
      }
      this.res.destroy();
      return this.#abortUpstream();
    }
    if (upstream?.bodyWaiting === true) {
      // The target stopped reading the request before answering it.
      this.chargeIdle(timeout);
      return this.answer(504, 'http_response_timeout', 'timeout');
    }
    // The client stalled its upload: 408, as nginx's client_body_timeout answers (RFC 9110 15.5.9).
    this.status = 408;
    this.abandon();
    // Nothing more is coming from it to linger for: close once the answer is out.
    this.res.shouldKeepAlive = false;
    this.#abortUpstream();
    sendAnswer(this.res, 408, 'http_request_error', this.target.origin);
  }

  /** The upstream exchange failed: before a response (answer for it) or during the body (cut the client off). */
  upstreamError(error: Error & { code?: string }): void {
    this.upstream = undefined;
    if (this.outcome !== undefined) return;
    if (this.headReceived) {
      this.brokenBody(error);
      // Headers are out: destroy the client connection so it can tell the body is incomplete.
      this.res.destroy();
      return this.#abortUpstream();
    }
    const { status, type } = this.chargeConnectionError(error);
    if (this.#retry(error)) return;
    this.answer(status, type, 'error');
  }

  /** The client's response closed. Before it finished, the client went away: abort upstream. */
  clientClose(): void {
    this.abandon();
    this.#abortUpstream();
  }

  /**
   * Failover: repeat the request on another target when no target could have processed it (it
   * was refused or never sent, or a reused keep-alive socket was reset before any response byte),
   * the method is idempotent and there was no body to replay (the route's retries and the retry
   * budget are the attempt's to check).
   */
  #retry(error: Error & { code?: string }): boolean {
    if (this.hasBody || !IDEMPOTENT.has(this.req.method!)) return false;
    // A reused keep-alive connection the target closed just as the request went out.
    const reusedReset = (error.code === 'ECONNRESET' || error.code === 'EPIPE') && this.#reusedConnection;
    if (!NOT_SENT.has(error.code ?? '') && !reusedReset) return false;
    const next = this.failover();
    if (next === undefined) return false;
    this.#abortUpstream();
    this.send(next);
    return true;
  }

  /**
   * Retry on status (nginx's `proxy_next_upstream http_503`): the answer is dropped and the
   * request goes to another target, decided before anything of the answer reached the client.
   * Only a request that can be repeated safely (idempotent, no body to replay); when the route's
   * retries, the budget or the other targets say no, the answer is relayed as it is. A
   * `Retry-After` in the answer keeps its target out of retries until it passes, whether or not
   * this request is retried.
   */
  #retryOnStatus(status: number, head: ResponseHead): boolean {
    const retryAfter = findRetryAfter(head.rawHeaders);
    if (retryAfter !== undefined) {
      const ms = retryAfterMs(retryAfter, Date.now());
      if (ms !== undefined && ms > 0) this.target.holdOffRetries(ms);
    }
    if (this.hasBody || !IDEMPOTENT.has(this.req.method!) || this.res.destroyed) return false;
    const next = this.retryOnStatus(status, this.route.config.failureStatus.has(status));
    if (next === undefined) return false;
    this.#abortUpstream();
    this.send(next);
    return true;
  }

  protected answer(status: number, type: ProxyErrorType, outcome: Outcome): void {
    // Set before finish() reports the exchange: the status the client gets is the proxy's own.
    this.status = status;
    this.finish(outcome);
    if (this.hasBody && !this.req.complete && !this.res.headersSent) closeAfterResponse(this.req, this.res);
    this.#abortUpstream();
    sendAnswer(this.res, status, type, this.target.origin);
  }

  /** Closes the connection of an attempt still under way (the exchange ends, or a retry goes elsewhere); it is never reused. */
  #abortUpstream(): void {
    const upstream = this.upstream;
    this.upstream = undefined;
    // abort() stops sending the client's body; the rest of it is read and dropped, since Node
    // does not drain a request that was read from and its keep-alive connection would stall.
    upstream?.abort();
    if (!this.req.complete) this.req.resume();
  }
}

const NODE_WRITE = ServerResponse.prototype.write;

function onClientDrain(this: Tagged<ServerResponse>): void {
  this[kExchange].upstream?.resume();
}

function onClientClose(this: Tagged<ServerResponse>): void {
  const exchange = this[kExchange];
  if (!this.writableFinished) exchange.clientClose();
}

/**
 * Whether Node will frame this response chunked, the only framing that carries trailers: not for
 * a HEAD request, a 204 or 304 (no body), nor an HTTP/1.0 client (`useChunkedEncodingByDefault`
 * is false for it unless it sent `TE: chunked`).
 */
function chunksResponse(res: ServerResponse, status: number): boolean {
  return res.useChunkedEncodingByDefault && status !== 204 && status !== 304 && res.req.method !== 'HEAD';
}

/** The authority of an absolute-form request-target (`GET http://host/x`), else `undefined`. */
export function absoluteAuthority(url: string | undefined): string | undefined {
  return url === undefined || url.charCodeAt(0) === 47 /* / */ ? undefined : normalizeRequestTarget(url)?.authority;
}

/** The fields to send upstream for `req`. */
export function upstreamHeaders(target: Target, req: IncomingMessage, preserveHost: boolean, upgrade: boolean, forwarded: boolean): string[] {
  const socket = req.socket as Socket & { encrypted?: boolean };
  return forwardRequestHeaders(req, {
    targetHost: target.hostHeader,
    preserveHost,
    proto: socket.encrypted === true ? 'https' : 'http',
    clientAddress: socket.remoteAddress ?? '',
    upgrade,
    authority: absoluteAuthority(req.url),
    port: socket.localPort,
    forwarded,
  });
}

function pairs(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}
