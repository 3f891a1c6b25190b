/**
 * `Upgrade` requests (WebSocket and the like): forwarded to an admitted target and, once it
 * answers 101, turned into a byte tunnel. The breaker sees the handshake: connection failures,
 * a timeout or a failure status count against the target; what flows in the tunnel does not.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { UpgradeSink, UpstreamConnection } from '../http1/connection.js';
import { requestHead } from '../http1/request-head.js';
import type { ResponseHead } from '../http1/response-parser.js';
import { PROXY_NAME, type ProxyErrorType } from './answers.js';
import { ClientAttempt, type AttemptContext } from './attempt.js';
import { upstreamHeaders } from './forward.js';
import { forwardResponseHeaders, withoutField } from './headers.js';
import type { Admission, Route } from './routes.js';
import type { Outcome } from './target.js';

/** Bytes a client may send after its handshake before the target's 101; a WebSocket client sends none. */
const EARLY_DATA_LIMIT = 64 * 1024;

/** Writes a proxy-made answer on a raw socket (there is no ServerResponse for an upgrade) and closes it. */
export function answerSocket(
  socket: Duplex,
  status: number,
  error: ProxyErrorType,
  target = '',
  retryAfterMs?: number,
  extra: readonly string[] = [],
): void {
  if (socket.destroyed) return;
  const body = `${JSON.stringify(target === '' ? { error } : { error, target })}\n`;
  const retryAfter = retryAfterMs === undefined ? '' : `Retry-After: ${Math.max(1, Math.ceil(retryAfterMs / 1000))}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Proxy-Status: ${PROXY_NAME}; error=${error}\r\n${retryAfter}${headerBlock(extra)}Connection: close\r\n\r\n${body}`,
  );
  closeWhenWritten(socket);
}

/**
 * Closes a socket once what was written to it is out. An HTTP server's sockets allow half-open
 * connections, so after `end()` this side stays open until the client closes its own: a client
 * that never does would hold the connection (and its file descriptor) for ever.
 */
export function closeWhenWritten(socket: Duplex): void {
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', socket.destroy);
}

function headerBlock(raw: readonly string[]): string {
  let out = '';
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return out;
}

/**
 * One upgrade request: its handshake is an attempt like any proxied request (same connection
 * pool, request head, parser, outcome and events), and after a 101 it is a byte tunnel between
 * the client's socket and the target's.
 */
export class Tunnel extends ClientAttempt implements UpgradeSink {
  /** The client's socket, handed over by the HTTP server's `upgrade` event. */
  readonly socket: Duplex;
  /** What the client sent after its request head, in the same read. */
  readonly head: Buffer;
  /** The connection carrying the handshake, until it upgraded, answered or failed. */
  #upstream: UpstreamConnection | undefined = undefined;
  #upstreamSocket: Socket | undefined = undefined;
  /** Client bytes that arrived while the handshake was pending, for the target once it upgrades. */
  #early: Buffer[] = [];
  #earlyLength = 0;
  #drainListening = false;

  constructor(context: AttemptContext, req: IncomingMessage, socket: Duplex, head: Buffer, route: Route) {
    super(context, req, route);
    this.socket = socket;
    this.head = head;
  }

  /** Sends the handshake to the admitted target. */
  open({ target, ticket }: Admission, path: string): void {
    this.begin(target, ticket);
    const socket = this.socket;
    const tunnels = this.context.tunnels;
    tunnels.add(this);
    socket.on('close', () => {
      tunnels.delete(this);
      this.#clientClosed();
    });
    // The server hands over the socket paused, and half-open (http.Server allows it): a client that
    // leaves during the handshake would go unnoticed until the timeout, and be charged for it.
    // Read while waiting, keeping what arrives for the target, and take an end as the client leaving.
    socket.on('data', this.#onEarlyData);
    socket.on('end', this.#onEarlyEnd);
    const req = this.req;
    const head = requestHead(req.method!, path, upstreamHeaders(target, req, this.context.preserveHost, true, this.route.config.forwarded), false);
    if (head === undefined) {
      // Not the target's doing (a rewrite produced a path Node's parser would never have passed).
      ticket.release();
      return this.answer(500, 'proxy_internal_error', 'error');
    }
    const connection = target.pool.open();
    this.#upstream = connection;
    connection.sendUpgrade(this, head);
  }

  /** The tunnel (or its handshake's upload, which has none) went idle: ended like any closed tunnel. */
  override idleExpire(): void {
    this.close();
  }

  /** Ends the tunnel now, whatever its state (the proxy is closing). */
  close(): void {
    this.socket.destroy();
    this.#abortUpstream();
    this.#upstreamSocket?.destroy();
  }

  readonly #onEarlyData = (chunk: Buffer): void => {
    this.#earlyLength += chunk.length;
    if (this.#earlyLength > EARLY_DATA_LIMIT) return void this.socket.destroy();
    this.#early.push(chunk);
  };

  readonly #onEarlyEnd = (): void => {
    this.socket.destroy();
  };

  readonly #onClientDrain = (): void => {
    this.#drainListening = false;
    this.#upstream?.resume();
  };

  /** The target switched protocols: relay its 101, then tunnel bytes both ways. */
  upstreamUpgrade(head: ResponseHead, upstreamSocket: Socket, rest: Buffer): void {
    this.#upstream = undefined;
    this.#upstreamSocket = upstreamSocket;
    this.headArrived(101, false);
    const socket = this.socket;
    if (socket.destroyed) {
      upstreamSocket.destroy();
      return;
    }
    this.status = 101;
    this.succeed();
    socket.off('data', this.#onEarlyData);
    socket.off('end', this.#onEarlyEnd);
    socket.write(`HTTP/1.1 101 ${head.statusMessage || 'Switching Protocols'}\r\n${headerBlock(forwardResponseHeaders(head.rawHeaders, true))}\r\n`);
    if (rest.length > 0) socket.write(rest);
    if (this.head.length > 0) upstreamSocket.write(this.head);
    for (const chunk of this.#early) upstreamSocket.write(chunk);
    this.#early = [];
    const idle = this.route.idle;
    const closeBoth = (): void => {
      idle.remove(this);
      socket.destroy();
      upstreamSocket.destroy();
    };
    // A tunnel that moves no byte either way for the idle timeout is closed, as nginx's
    // proxy_read_timeout closes an idle WebSocket; its outcome (the handshake's) stays as it was.
    const active = (): void => {
      this.idleTicks = 0;
    };
    socket.on('data', active);
    upstreamSocket.on('data', active);
    idle.add(this);
    socket.on('error', closeBoth);
    upstreamSocket.on('error', closeBoth);
    socket.on('close', closeBoth);
    upstreamSocket.on('close', closeBoth);
    // pipe() passes an end on to the other side; once that end is written, close both. A tunnel has
    // no use for TCP half-close, and a peer that ignores the end must not hold two sockets for ever.
    socket.on('finish', closeBoth);
    upstreamSocket.on('finish', closeBoth);
    upstreamSocket.pipe(socket);
    socket.pipe(upstreamSocket);
  }

  /**
   * The target answered without upgrading: its answer is relayed, then the connection closes.
   * Without Content-Length and with Connection: close, the body runs to the end of the
   * connection (de-chunked by the parser, so without trailers).
   */
  upstreamHead(head: ResponseHead): void {
    const status = head.statusCode;
    this.headArrived(status, this.route.config.failureStatus.has(status));
    const socket = this.socket;
    if (socket.destroyed) return this.#abortUpstream();
    this.status = status;
    const headers = withoutField(forwardResponseHeaders(head.rawHeaders, false, false), 'content-length');
    socket.write(`HTTP/1.1 ${status} ${head.statusMessage}\r\n${headerBlock(headers)}Connection: close\r\n\r\n`);
  }

  upstreamData(chunk: Buffer): void {
    if (chunk.length === 0 || this.socket.write(chunk)) return;
    this.#upstream?.pause();
    // One listener, however many pieces of one read met a full socket.
    if (this.#drainListening) return;
    this.#drainListening = true;
    this.socket.once('drain', this.#onClientDrain);
  }

  upstreamEnd(): void {
    this.#upstream = undefined;
    if (this.outcome !== undefined) return;
    this.succeed();
    this.socket.end();
    closeWhenWritten(this.socket);
  }

  upstreamError(error: Error & { code?: string }): void {
    this.#upstream = undefined;
    if (this.outcome !== undefined) return;
    if (this.headReceived) {
      this.brokenBody(error);
      // Cut off by the target: the client must not take the truncated body for a whole one.
      this.socket.destroy();
      return;
    }
    const { status, type } = this.chargeConnectionError(error);
    this.answer(status, type, 'error');
  }

  protected answer(status: number, type: ProxyErrorType, outcome: Outcome): void {
    this.status = status;
    this.finish(outcome);
    this.#abortUpstream();
    answerSocket(this.socket, status, type, this.target.origin);
  }

  #clientClosed(): void {
    this.abandon();
    this.#abortUpstream();
  }

  #abortUpstream(): void {
    const upstream = this.#upstream;
    this.#upstream = undefined;
    upstream?.abort();
  }
}
