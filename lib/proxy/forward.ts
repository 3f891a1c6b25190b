/**
 * One client request and its upstream exchange(s): send, stream both ways, decide the outcome,
 * report it to the target's breaker exactly once, and answer for the proxy when the upstream
 * could not.
 *
 * Hot path: the request goes out on the target's own keep-alive connection pool (lib/http1), which
 * calls the exchange's `ResponseSink` methods directly; the client-side listeners are shared
 * functions that find their exchange through a symbol, not closures made per request; the
 * response-header timeout is an entry in the route's deadline queue, not a timer per request.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { RequestOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Ticket } from '../breaker/breaker.js';
import type { DeadlineEntry } from '../deadlines.js';
import type { ResponseSink, UpstreamConnection } from '../http1/connection.js';
import { releasableMemory, ReleaseQueue } from '../http1/release.js';
import { requestHead } from '../http1/request-head.js';
import type { ResponseHead } from '../http1/response-parser.js';
import {
  UpstreamConnectionError,
  UpstreamError,
  UpstreamResponseError,
  UpstreamStatusError,
  UpstreamTimeoutError,
  withoutStack,
} from '../errors.js';
import { sendAnswer, type ProxyErrorType } from './answers.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.js';
import { normalizeRequestTarget } from './path.js';
import type { Admission, Route } from './routes.js';
import type { Outcome, Target } from './target.js';

/** What an exchange needs from the proxy that owns it. */
export interface ExchangeOwner {
  readonly preserveHost: boolean;
  /** Retries running now, for the retry budget. */
  retriesInFlight: number;
  /** Exchanges running now. */
  inFlight: number;
  readonly retryBudgetPercent: number;
  readonly retryBudgetMin: number;
  exchangeFailed(exchange: Exchange, error: UpstreamError): void;
  exchangeDone(exchange: Exchange, outcome: Outcome): void;
}

const kExchange = Symbol('proxy-breaker.exchange');
type Tagged<T> = T & { [kExchange]: Exchange };

/** Methods a failover retry may repeat (RFC 9110 9.2.2: idempotent). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Interim (1xx) responses allowed before the final one. They are not relayed; past this many the
 * target is broken (or hostile: a 1xx storm would hold the exchange until the call timeout).
 */
export const MAX_INTERIM_RESPONSES = 32;

/** Connection errors that happen before a target could have read any of the request. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

export class Exchange implements DeadlineEntry, ResponseSink {
  deadlinePrev: DeadlineEntry | undefined = undefined;
  deadlineNext: DeadlineEntry | undefined = undefined;
  deadlineAt = 0;

  readonly owner: ExchangeOwner;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Route;
  /** Path and query sent upstream. */
  readonly path: string;
  readonly startedAt: number;
  readonly hasBody: boolean;
  target!: Target;
  ticket!: Ticket;
  /** The connection carrying the current attempt, until its response ended or failed. */
  upstream: UpstreamConnection | undefined = undefined;
  /** Attempts made so far; more than one after a failover retry. */
  attempts = 0;
  /** The status the client gets: the upstream's, or the proxy's own answer; 0 until either. */
  status = 0;
  outcome: Outcome | undefined = undefined;
  #failureStatus = false;
  /** This exchange holds one of the proxy's retry-budget slots. */
  #retrying = false;
  /** Targets that failed this request, so a second retry does not go back to one of them. */
  #tried: Target[] | undefined = undefined;
  /** Interim (1xx) responses of the current attempt. */
  #interim = 0;
  /** The current attempt's response head arrived (its body is being relayed). */
  #headReceived = false;
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

  constructor(owner: ExchangeOwner, req: IncomingMessage, res: ServerResponse, route: Route, path: string, hasBody: boolean) {
    this.owner = owner;
    this.req = req;
    this.res = res;
    this.route = route;
    this.path = path;
    this.hasBody = hasBody;
    this.startedAt = performance.now();
    (res as Tagged<ServerResponse>)[kExchange] = this;
    // `on`, not `once`: a response closes once, and once() would wrap the listener per request.
    res.on('close', onClientClose);
    owner.inFlight++;
  }

  /** Sends the request to the admitted target. */
  send({ target, ticket }: Admission): void {
    this.target = target;
    this.ticket = ticket;
    this.attempts++;
    this.#interim = 0;
    this.#headReceived = false;
    target.inFlight++;
    const req = this.req;
    const head = requestHead(req.method!, this.path, upstreamHeaders(target, req, this.owner.preserveHost, false));
    if (head === undefined) {
      // Not the target's doing (a rewrite produced a path Node's parser would never have passed).
      ticket.release();
      return this.#answer(500, 'proxy_internal_error', 'error');
    }
    const connection = target.pool.acquire();
    this.upstream = connection;
    this.route.deadlines.add(this);
    const bodyLength = req.headers['transfer-encoding'] !== undefined ? -1 : Number(req.headers['content-length'] ?? 0);
    connection.send(this, head, req.method === 'HEAD', this.hasBody ? req : undefined, bodyLength);
    this.#reusedConnection = connection.reused;
  }

  upstreamInterim(): void {
    this.interim();
  }

  /** Response headers arrived in time. */
  upstreamHead(head: ResponseHead): void {
    this.route.deadlines.remove(this);
    const status = head.statusCode;
    this.status = status;
    this.#headReceived = true;
    if (this.route.config.failureStatus.has(status)) {
      // Counted now; the body is still relayed unchanged, it is the upstream's own answer.
      this.#failureStatus = true;
      this.ticket.failure(withoutStack(() => new UpstreamStatusError(this.target.origin, status)));
    }
    const res = this.res;
    if (res.destroyed) return this.#abortUpstream();
    try {
      res.writeHead(status, head.statusMessage, forwardResponseHeaders(head.rawHeaders, false, chunksResponse(res, status)));
    } catch (error) {
      // A head Node will not send on (a status below 100). The target broke the protocol.
      return this.#badHead(error);
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
    if (!this.#failureStatus) this.ticket.success();
    this.#finish(this.#failureStatus ? 'failure_status' : 'success');
  }

  /** The upstream exchange failed: before a response (answer for it) or during the body (cut the client off). */
  upstreamError(error: Error & { code?: string }): void {
    this.upstream = undefined;
    if (this.outcome !== undefined) return;
    this.route.deadlines.remove(this);
    if (this.#headReceived) return this.#brokenBody(error);
    const { type, status } = classify(error);
    this.#charge(withoutStack(() => new UpstreamConnectionError(type, this.target.origin, error)));
    if (this.#retry(error)) return;
    this.#answer(status, type, 'error');
  }

  /** The route's call timeout passed with no response headers. */
  expire(): void {
    if (this.outcome !== undefined) return;
    this.#charge(withoutStack(() => new UpstreamTimeoutError(this.target.origin, this.route.config.timeout)));
    this.#answer(504, 'http_response_timeout', 'timeout');
  }

  /** The client's response closed. Before it finished, the client went away: abort upstream. */
  clientClose(): void {
    this.route.deadlines.remove(this);
    if (this.outcome === undefined) {
      // A client that leaves says nothing about the target: give the ticket back uncharged.
      this.ticket?.release();
      this.#finish('aborted');
    }
    this.#abortUpstream();
  }

  /** An interim (1xx) response arrived. */
  interim(): void {
    if (++this.#interim > MAX_INTERIM_RESPONSES) this.protocolError(new Error(`more than ${MAX_INTERIM_RESPONSES} interim (1xx) responses`));
  }

  /** The target broke HTTP before its final response (a 1xx storm). */
  protocolError(cause: Error): void {
    if (this.outcome !== undefined) return;
    this.route.deadlines.remove(this);
    this.#badHead(cause);
  }

  /**
   * Reports a failure of this attempt: the proxyError event first, then the target's breaker, so
   * that a log shows the error before the state change it caused. A response already charged as
   * a failure status is not charged again.
   */
  #charge(failure: UpstreamError): void {
    this.owner.exchangeFailed(this, failure);
    if (!this.#failureStatus) this.ticket.failure(failure);
  }

  #badHead(cause: unknown): void {
    this.#charge(withoutStack(() => new UpstreamConnectionError('http_protocol_error', this.target.origin, cause)));
    this.#answer(502, 'http_protocol_error', 'error');
  }

  #brokenBody(cause: unknown): void {
    this.#charge(withoutStack(() => new UpstreamResponseError(this.target.origin, cause)));
    this.#finish('error');
    // Headers are out: destroy the client connection so it can tell the body is incomplete.
    this.res.destroy();
    this.#abortUpstream();
  }

  /**
   * Failover: repeat the request on another target when no target could have processed it (it
   * was refused or never sent, or a reused keep-alive socket was reset before any response byte),
   * the method is idempotent, there was no body to replay, and the retry budget allows it.
   */
  #retry(error: Error & { code?: string }): boolean {
    if (this.attempts > this.route.config.retries || this.hasBody || !IDEMPOTENT.has(this.req.method!)) return false;
    // A reused keep-alive connection the target closed just as the request went out.
    const reusedReset = (error.code === 'ECONNRESET' || error.code === 'EPIPE') && this.#reusedConnection;
    if (!NOT_SENT.has(error.code ?? '') && !reusedReset) return false;
    const owner = this.owner;
    // One budget slot per exchange, however many retries it makes: #finish gives back one.
    if (!this.#retrying) {
      const budget = Math.max(owner.retryBudgetMin, (owner.inFlight * owner.retryBudgetPercent) / 100);
      if (owner.retriesInFlight >= budget) return false;
    }
    const failed = this.target;
    const tried = (this.#tried ??= []);
    tried.push(failed);
    const next = this.route.pick(tried);
    if (next === undefined) return false;
    failed.inFlight--;
    failed.record('error');
    this.#detachUpstream();
    if (!this.#retrying) {
      owner.retriesInFlight++;
      this.#retrying = true;
    }
    this.send(next);
    return true;
  }

  #answer(status: number, type: ProxyErrorType, outcome: Outcome): void {
    // Set before #finish() reports the exchange: the status the client gets is the proxy's own.
    this.status = status;
    this.#finish(outcome);
    this.#abortUpstream();
    sendAnswer(this.res, status, type, this.target.origin);
  }

  #finish(outcome: Outcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    const target = this.target;
    target.inFlight--;
    target.record(outcome);
    if (outcome !== 'aborted') target.latency.observe((performance.now() - this.startedAt) / 1000);
    this.owner.inFlight--;
    if (this.#retrying) this.owner.retriesInFlight--;
    this.owner.exchangeDone(this, outcome);
  }

  /** Abandons the current attempt's connection (a retry goes elsewhere). */
  #detachUpstream(): void {
    this.upstream?.abort();
    this.upstream = undefined;
  }

  /** Closes the connection of an attempt still under way; it is never reused. */
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
function upstreamHeaders(target: Target, req: IncomingMessage, preserveHost: boolean, upgrade: boolean): string[] {
  const socket = req.socket as Socket & { encrypted?: boolean };
  return forwardRequestHeaders(req, {
    targetHost: target.hostHeader,
    preserveHost,
    proto: socket.encrypted === true ? 'https' : 'http',
    clientAddress: socket.remoteAddress ?? '',
    upgrade,
    authority: absoluteAuthority(req.url),
  });
}

/** The `http.request()` options of an upgrade (WebSocket) request: the target's agent and address, the forwarded head. */
export function upstreamRequestOptions(target: Target, req: IncomingMessage, path: string, preserveHost: boolean, upgrade: boolean): RequestOptions {
  return {
    agent: target.agent,
    host: target.hostname,
    port: target.port,
    servername: target.servername,
    method: req.method,
    path,
    setHost: false,
    headers: upstreamHeaders(target, req, preserveHost, upgrade),
  };
}


function pairs(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/** Maps an upstream connection error to the status and RFC 9209 error type the client gets. */
export function classify(error: Error & { code?: string }): { status: number; type: ProxyErrorType } {
  const code = error.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return { status: 502, type: 'connection_refused' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return { status: 502, type: 'dns_error' };
    case 'ETIMEDOUT':
      return { status: 504, type: 'connection_timeout' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { status: 502, type: 'destination_ip_unroutable' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 502, type: 'http_response_header_section_size' };
  }
  if (code.startsWith('HPE_')) return { status: 502, type: 'http_protocol_error' };
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/.test(code)) return { status: 502, type: 'tls_certificate_error' };
  if (code.startsWith('ERR_SSL') || code === 'EPROTO' || code.startsWith('ERR_TLS')) return { status: 502, type: 'tls_protocol_error' };
  return { status: 502, type: 'connection_terminated' };
}
