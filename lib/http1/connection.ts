/**
 * Keep-alive HTTP/1.1 connections to one upstream origin, and the pool that reuses them.
 *
 * This replaces `http.Agent` + `http.request` for everything the proxy sends upstream: proxied
 * requests (the hot path, see response-parser.ts for why), upgrade handshakes and probes. A
 * connection carries one request at a time; it reports the response to its current
 * `ResponseSink` through plain method calls, and goes back to the pool only when the response
 * was complete, the request fully sent, the target did not ask to close, and no byte came that
 * nobody asked for. Anything else destroys the connection: a connection in an unknown state is
 * never reused. A 101 to an upgrade request hands the socket over for good (`sendUpgrade`).
 */
import type { IncomingMessage } from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { releasableMemory, ReleaseQueue } from './release.js';
import { ParseError, ResponseParser, type ResponseHandler, type ResponseHead } from './response-parser.js';
import { INVALID_TEXT, TOKEN } from './syntax.js';
import { forwardableTrailers } from './trailers.js';

/** Who receives one response. Every call happens at most once per request, except `upstreamData`. */
export interface ResponseSink {
  /**
   * Set to 0 whenever a byte of this exchange moves, either way (a piece from the target, a piece
   * of the request body sent): the sink's idle clock starts over. One store per piece, no clock read.
   */
  idleTicks: number;
  /** The whole request, body included, has been written to the target. */
  requestSent?(): void;
  /** An interim (1xx) response; not relayed. */
  upstreamInterim(): void;
  upstreamHead(head: ResponseHead): void;
  /** A piece of the body; `last` when it completes it. May call `pause()`. */
  upstreamData(chunk: Buffer, last: boolean): void;
  /** The response completed; the connection is no longer the sink's to touch. */
  upstreamEnd(trailers: string[] | undefined): void;
  /** The exchange failed (connection error, protocol error, hang-up); the connection is gone. */
  upstreamError(error: Error & { code?: string }): void;
}

/** Who receives the answer to a request that asked to switch protocols (`Upgrade`). */
export interface UpgradeSink extends ResponseSink {
  /**
   * The target switched protocols (101). The socket is the sink's from now on, out of the pool
   * and without this connection's listeners, paused until the sink reads it (`pipe()` or
   * `resume()`); `rest` is what the target sent after the head.
   */
  upstreamUpgrade(head: ResponseHead, socket: net.Socket, rest: Buffer): void;
}

export interface PoolOptions {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port: number;
  /** TLS to the target; `undefined` for plain TCP. */
  tls?: UpstreamTlsOptions | undefined;
  /** Idle connections kept; more are closed as they come free. */
  maxIdle: number;
}

export interface UpstreamTlsOptions {
  servername: string | undefined;
  rejectUnauthorized: boolean;
  /** CA certificates and client certificate, made once; `undefined`: Node's default context. */
  secureContext?: tls.SecureContext | undefined;
}

/**
 * Idle connections expire this long before the target's `Keep-Alive: timeout` says it closes
 * them, so a request is not sent on a connection the target is closing (Node's agent does this).
 */
const KEEP_ALIVE_MARGIN_MS = 1000;

/** Request bodies longer than this (or of unknown length) are sent with TCP coalescing (see send). */
const COALESCE_ABOVE = 64 * 1024;

const kConnection = Symbol('proxy-breaker.connection');
type BodySource = IncomingMessage & { [kConnection]?: UpstreamConnection | undefined };

export class UpstreamPool {
  readonly options: PoolOptions;
  /** Idle connections; the most recently used is reused first (LIFO), so idle ones age out. */
  readonly #idle: UpstreamConnection[] = [];
  readonly #all = new Set<UpstreamConnection>();
  /** Connections opened under trust settings that have since changed (`retrust`): never reused. */
  readonly #stale = new WeakSet<UpstreamConnection>();
  #session: Buffer | undefined = undefined;
  #closed = false;
  /** Connections opened since the pool was made (for metrics: churn shows as a fast-rising count). */
  opened = 0;

  constructor(options: PoolOptions) {
    this.options = options;
  }

  /** A connection for one request: an idle one if there is a fresh one, else a new one. */
  acquire(): UpstreamConnection {
    const idle = this.#idle;
    while (idle.length > 0) {
      const connection = idle.pop()!;
      if (connection.usable()) {
        connection.socket.ref();
        return connection;
      }
      connection.destroy();
    }
    return this.open();
  }

  /**
   * A new connection, never an idle one: for a request that cannot go again elsewhere (an
   * upgrade handshake, a probe) if the target closes an idle connection just as it goes out, so
   * that such a race is not charged to the target as a failure.
   */
  open(): UpstreamConnection {
    const connection = new UpstreamConnection(this, this.#connect());
    this.#all.add(connection);
    this.opened++;
    return connection;
  }

  /** Connections open now: idle ones and ones carrying a request. */
  get size(): number {
    return this.#all.size;
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  /** Closes every connection, idle or busy (like `Agent.destroy()`); later ones are not pooled. */
  close(): void {
    this.#closed = true;
    for (const connection of this.#all) connection.destroy();
    this.#idle.length = 0;
  }

  /**
   * New TLS settings (a reload changed the CA or client certificate): connections opened from now
   * on use them. Idle connections close now; busy ones finish their request and close. The TLS
   * session is dropped too: resuming it would skip verifying the target against the new CAs.
   */
  retrust(settings: UpstreamTlsOptions): void {
    this.options.tls = settings;
    this.#session = undefined;
    for (const connection of this.#all) this.#stale.add(connection);
    for (const connection of this.#idle.splice(0)) connection.destroy();
  }

  /** @internal A connection finished a response and may carry another. */
  release(connection: UpstreamConnection): void {
    if (this.#closed || this.#stale.has(connection) || this.#idle.length >= this.options.maxIdle) return connection.destroy();
    // An idle connection must not keep the process alive (Node's agent unrefs free sockets too).
    connection.socket.unref();
    this.#idle.push(connection);
  }

  /** @internal A connection closed. */
  forget(connection: UpstreamConnection): void {
    this.#all.delete(connection);
    const at = this.#idle.indexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
  }

  /** @internal For TLS session resumption on the next connection, unless `connection` predates the trust settings. */
  offerSession(connection: UpstreamConnection, session: Buffer): void {
    if (!this.#stale.has(connection)) this.#session = session;
  }

  #connect(): net.Socket {
    const { host, port } = this.options;
    const secure = this.options.tls;
    if (secure === undefined) {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 1000);
      return socket;
    }
    const socket = tls.connect({
      host,
      port,
      servername: secure.servername,
      rejectUnauthorized: secure.rejectUnauthorized,
      secureContext: secure.secureContext,
      session: this.#session,
      ALPNProtocols: ['http/1.1'],
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    return socket;
  }
}

export class UpstreamConnection implements ResponseHandler {
  readonly socket: net.Socket;
  readonly #pool: UpstreamPool;
  readonly #parser: ResponseParser;
  #sink: ResponseSink | undefined = undefined;
  /** Responses completed on this connection. */
  #served = 0;
  /** Whether the current request came on a connection that had carried one before. */
  reused = false;
  /** `performance.now()` after which this idle connection is not used again. */
  #expiresAt = Infinity;
  /** The client request whose body is being sent, until it ended. */
  #body: BodySource | undefined = undefined;
  #chunked = false;
  #requestSent = false;
  #destroyed = false;
  #paused = false;
  /** NODELAY is off while the current request's body streams. */
  #coalescing = false;
  /** The current request asked to switch protocols: the connection is not reused, whatever the answer. */
  #upgrading = false;
  /** The 101 head, kept from onHead() until the bytes after it are known. */
  #upgradeHead: ResponseHead | undefined = undefined;
  /** Request-body pieces written to the socket, freed as it takes them (release.ts). */
  #releases: ReleaseQueue | undefined = undefined;

  constructor(pool: UpstreamPool, socket: net.Socket) {
    this.#pool = pool;
    this.socket = socket;
    this.#parser = new ResponseParser(this);
    socket.on('data', this.#onDataListener);
    socket.on('end', this.#onEndListener);
    socket.on('error', this.#onErrorListener);
    socket.on('close', this.#onCloseListener);
    socket.on('drain', this.#onDrainListener);
    if (pool.options.tls !== undefined) (socket as tls.TLSSocket).on('session', this.#onSessionListener);
  }

  // The socket's listeners, kept so that an upgrade can hand the socket over without them.
  readonly #onDataListener = (chunk: Buffer): void => this.#onData(chunk);
  readonly #onEndListener = (): void => this.#onEnd();
  readonly #onErrorListener = (error: Error): void => this.#fail(error);
  readonly #onCloseListener = (): void => this.#onClose();
  readonly #onDrainListener = (): void => void this.#body?.resume();
  readonly #onSessionListener = (session: Buffer): void => this.#pool.offerSession(this, session);

  /**
   * Sends one request: `head` is the serialized request head (request-head.ts). `body` is the
   * client request to stream after it: `bodyLength` bytes as the Content-Length the head already
   * carries, or framed chunked when `bodyLength` is -1.
   */
  send(sink: ResponseSink, head: string, noResponseBody: boolean, body: IncomingMessage | undefined, bodyLength: number): void {
    this.#sink = sink;
    this.reused = this.#served > 0;
    this.#parser.start(noResponseBody);
    this.socket.write(head, 'latin1');
    if (body === undefined) {
      this.#requestSent = true;
      return;
    }
    this.#requestSent = false;
    this.#chunked = bodyLength < 0;
    if (this.#chunked || bodyLength > COALESCE_ABOVE) {
      // While a long body streams, let TCP coalesce: with NODELAY every write ends in a short
      // segment of its own (a 64 KiB write is a full loopback segment plus 53 bytes) and the
      // target wakes up for each (nginx spent ~25% more CPU per 1 MiB upload). bodyEnd() turns
      // NODELAY back on, which sends whatever TCP still holds at once.
      this.#coalescing = true;
      this.socket.setNoDelay(false);
    }
    const source = body as BodySource;
    source[kConnection] = this;
    this.#body = source;
    source.on('data', onBodyData);
    source.on('end', onBodyEnd);
    // A body already read (an empty one, say) ends without 'end' for a late listener.
    if (source.readableEnded) this.bodyEnd();
  }

  /**
   * Sends a request that asks to switch protocols (the head carries `Connection: Upgrade` and
   * `Upgrade`; no body). A 101 hands the socket to `sink.upstreamUpgrade()`; any other answer is
   * a response like any other, after which the connection is closed: the target read a request
   * that asked to leave HTTP, and its state is not one to bet the next request on.
   */
  sendUpgrade(sink: UpgradeSink, head: string): void {
    this.#sink = sink;
    this.reused = this.#served > 0;
    this.#upgrading = true;
    this.#parser.start(false, true);
    this.#requestSent = true;
    this.socket.write(head, 'latin1');
  }

  /** Reading the response is paused for the client (`pause()`). */
  get paused(): boolean {
    return this.#paused;
  }

  /** The request body is waiting for the target to read what was sent of it (backpressure). */
  get bodyWaiting(): boolean {
    return this.#body !== undefined && this.#body.isPaused();
  }

  /** Stops reading the response (the client is slow); `resume()` goes on. */
  pause(): void {
    this.#paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.#paused = false;
    this.socket.resume();
  }

  /** The sink gives up on its request: the connection is closed, never reused. */
  abort(): void {
    this.#sink = undefined;
    this.destroy();
  }

  /** Whether an idle connection can carry a request. */
  usable(): boolean {
    return !this.#destroyed && (this.#expiresAt === Infinity || performance.now() < this.#expiresAt);
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#parser.stop();
    this.#detachBody();
    this.socket.destroy();
    this.#pool.forget(this);
  }

  /**
   * @internal A piece of the client's body (a string after the app called `req.setEncoding()`).
   */
  bodyData(chunk: Buffer | string): boolean {
    const sink = this.#sink;
    if (sink !== undefined) sink.idleTicks = 0;
    const socket = this.socket;
    const written = this.#releaseAfterWrite(chunk);
    if (!this.#chunked) return socket.write(chunk, written);
    if (chunk.length === 0) return true; // a zero-size chunk would end the body
    socket.cork();
    // A string (after req.setEncoding()) goes out as UTF-8: its size is that of its bytes.
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    socket.write(`${size.toString(16)}\r\n`, 'latin1');
    socket.write(chunk, written);
    const more = socket.write('\r\n', 'latin1');
    socket.uncork();
    return more;
  }

  /** @internal The client's body ended. */
  bodyEnd(): void {
    if (this.#chunked) this.socket.write(lastChunk(this.#body?.rawTrailers), 'latin1');
    if (this.#coalescing) {
      this.#coalescing = false;
      this.socket.setNoDelay(true);
    }
    this.#requestSent = true;
    this.#detachBody();
    this.#sink?.requestSent?.();
  }

  // ResponseHandler: called by the parser, inside #onData.

  onInterim(): void {
    this.#sink?.upstreamInterim();
  }

  onHead(head: ResponseHead): void {
    if (this.#parser.upgraded) this.#upgradeHead = head;
    else this.#sink?.upstreamHead(head);
  }

  onBody(chunk: Buffer, last: boolean): void {
    this.#sink?.upstreamData(chunk, last);
  }

  onComplete(trailers: string[] | undefined): void {
    const sink = this.#sink;
    this.#sink = undefined;
    this.#served++;
    sink?.upstreamEnd(trailers);
  }

  #onData(chunk: Buffer): void {
    const sink = this.#sink;
    if (sink === undefined) {
      // Bytes on an idle connection, or after the sink gave up: nobody asked for them.
      return this.destroy();
    }
    sink.idleTicks = 0;
    let complete: boolean;
    try {
      complete = this.#parser.execute(chunk);
    } catch (error) {
      return this.#fail(error as Error);
    }
    if (!complete) return;
    if (this.#parser.upgraded) return this.#handOver(chunk.subarray(chunk.length - this.#parser.leftover));
    this.#reuseOrClose();
  }

  /** After a 101: the socket leaves this connection and the pool for good, to the upgrade sink. */
  #handOver(rest: Buffer): void {
    const sink = this.#sink as UpgradeSink | undefined;
    const head = this.#upgradeHead!;
    this.#sink = undefined;
    this.#upgradeHead = undefined;
    this.#destroyed = true;
    this.#pool.forget(this);
    const socket = this.socket;
    socket.off('data', this.#onDataListener);
    socket.off('end', this.#onEndListener);
    socket.off('error', this.#onErrorListener);
    socket.off('close', this.#onCloseListener);
    socket.off('drain', this.#onDrainListener);
    socket.off('session', this.#onSessionListener);
    if (sink === undefined) return void socket.destroy();
    // Nothing is read until the sink reads (pipe() resumes): with this connection's 'data'
    // listener gone, a flowing socket would drop what comes next.
    socket.pause();
    sink.upstreamUpgrade(head, socket, rest);
  }

  #reuseOrClose(): void {
    const parser = this.#parser;
    if (this.#destroyed || this.#upgrading || !parser.keepAlive || !this.#requestSent || parser.leftover > 0) {
      // The target answered before the whole body was sent (a 413, say), asked to close, or
      // sent more than the response: the connection's state is not one to send a request into.
      return this.destroy();
    }
    this.#expiresAt = parser.keepAliveTimeout > 0 ? performance.now() + parser.keepAliveTimeout * 1000 - KEEP_ALIVE_MARGIN_MS : Infinity;
    // The last piece may have met a slow client that paused us: the next request must be read.
    if (this.#paused) this.resume();
    this.#pool.release(this);
  }

  #onEnd(): void {
    if (this.#sink === undefined || !this.#parser.busy) return this.destroy();
    try {
      this.#parser.finish(); // completes a body delimited by the close
    } catch (error) {
      return this.#fail(error as Error);
    }
    this.destroy();
  }

  #onClose(): void {
    if (this.#sink !== undefined) this.#fail(new ParseError('ECONNRESET', this.#parser.headReceived ? 'aborted' : 'socket hang up'));
    this.destroy();
  }

  #fail(error: Error): void {
    const sink = this.#sink;
    this.#sink = undefined;
    this.destroy();
    sink?.upstreamError(error);
  }

  /**
   * The write callback that frees `chunk` once the socket took it (release.ts), if it is a piece
   * Node's HTTP server made for this body alone (a copy that is all of its memory) and nothing
   * but this connection reads the body. A view into bigger memory (a buffer pool, a caller's own
   * buffer) is left alone, and so is a piece another reader (a pipe, a listener of the app's)
   * may keep. A string has no memory of ours to free.
   */
  #releaseAfterWrite(chunk: Buffer | string): ((error?: Error | null) => void) | undefined {
    if (typeof chunk === 'string') return undefined;
    const memory = releasableMemory(chunk);
    if (memory === undefined || chunk.byteOffset !== 0 || chunk.byteLength !== memory.byteLength) return undefined;
    const body = this.#body!; // set for as long as its 'data' listener (which calls bodyData) is on
    if (body.listenerCount('data') !== 1 || body.listenerCount('readable') !== 0) return undefined;
    return (this.#releases ??= new ReleaseQueue()).track(memory);
  }

  #detachBody(): void {
    const body = this.#body;
    if (body === undefined) return;
    this.#body = undefined;
    body[kConnection] = undefined;
    body.removeListener('data', onBodyData);
    body.removeListener('end', onBodyEnd);
    // Whatever the client still sends has nowhere to go: read and drop it, so that its keep-alive
    // connection can carry the next request (Node does not drain a request that was read from).
    if (!body.complete) body.resume();
  }
}

/**
 * The end of a chunked request body: the last chunk and the client's trailers (Node has parsed
 * them by 'end'), with the fields trailers must not carry dropped as on the response side
 * (trailers.ts). Each field is checked again as request-head.ts checks the head's.
 */
function lastChunk(rawTrailers: string[] | undefined): string {
  const fields = rawTrailers === undefined || rawTrailers.length === 0 ? undefined : forwardableTrailers(rawTrailers);
  if (fields === undefined) return '0\r\n\r\n';
  let out = '0\r\n';
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (TOKEN.test(name) && !INVALID_TEXT.test(value)) out += `${name}: ${value}\r\n`;
  }
  return `${out}\r\n`;
}

function onBodyData(this: BodySource, chunk: Buffer | string): void {
  const connection = this[kConnection];
  if (connection !== undefined && !connection.bodyData(chunk)) this.pause();
}

function onBodyEnd(this: BodySource): void {
  this[kConnection]?.bodyEnd();
}
