/**
 * `Upgrade` requests (WebSocket and the like): forwarded to an admitted target and, once it
 * answers 101, turned into a byte tunnel. The breaker sees the handshake: connection failures,
 * a timeout or a failure status count against the target; what flows in the tunnel does not.
 */
import { STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DeadlineEntry } from '../deadlines.js';
import { UpstreamConnectionError, UpstreamStatusError, UpstreamTimeoutError, type UpstreamError } from '../errors.js';
import { PROXY_NAME, type ProxyErrorType } from './answers.js';
import { classify, upstreamRequestOptions } from './forward.js';
import { forwardResponseHeaders, withoutField } from './headers.js';
import type { Admission, Route } from './routes.js';

export interface TunnelOwner {
  readonly preserveHost: boolean;
  exchangeFailed(tunnel: Tunnel, error: UpstreamError): void;
  /**
   * Where tunnels register while their client socket is open, so that closing the proxy can end
   * them: once upgraded, a socket is no longer the HTTP server's, and `closeAllConnections()`
   * does not see it while `server.close()` still waits for it.
   */
  readonly tunnels?: Set<Tunnel>;
}

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

export class Tunnel implements DeadlineEntry {
  deadlinePrev: DeadlineEntry | undefined = undefined;
  deadlineNext: DeadlineEntry | undefined = undefined;
  deadlineAt = 0;
  readonly owner: TunnelOwner;
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly route: Route;
  readonly admission: Admission;
  #upstream: ClientRequest | undefined;
  #upstreamSocket: Duplex | undefined;
  #done = false;
  /** Client bytes that arrived while the handshake was pending, for the target once it upgrades. */
  #early: Buffer[] = [];
  #earlyLength = 0;

  constructor(owner: TunnelOwner, req: IncomingMessage, socket: Duplex, head: Buffer, route: Route, admission: Admission) {
    this.owner = owner;
    this.req = req;
    this.socket = socket;
    this.head = head;
    this.route = route;
    this.admission = admission;
  }

  open(path: string): void {
    const { target } = this.admission;
    target.inFlight++;
    const req = this.req;
    const options = upstreamRequestOptions(target, req, path, this.owner.preserveHost, true);
    const upstream = target.request(options);
    this.#upstream = upstream;
    this.route.deadlines.add(this);
    upstream.on('upgrade', (res, upstreamSocket, upstreamHead) => this.#upgraded(res, upstreamSocket, upstreamHead));
    upstream.on('response', (res) => this.#refused(res));
    upstream.on('error', (error) => this.#failed(error));
    const socket = this.socket;
    this.owner.tunnels?.add(this);
    socket.on('close', () => {
      this.owner.tunnels?.delete(this);
      this.#clientClosed();
    });
    // The server hands over the socket paused, and half-open (http.Server allows it): a client that
    // leaves during the handshake would go unnoticed until the timeout, and be charged for it.
    // Read while waiting, keeping what arrives for the target, and take an end as the client leaving.
    socket.on('data', this.#onEarlyData);
    socket.on('end', this.#onEarlyEnd);
    upstream.end();
  }

  /** Ends the tunnel now, whatever its state (the proxy is closing). */
  close(): void {
    this.socket.destroy();
    this.#upstream?.destroy();
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

  expire(): void {
    const { target, ticket } = this.admission;
    const error = new UpstreamTimeoutError(target.origin, this.route.config.timeout);
    this.owner.exchangeFailed(this, error);
    ticket.failure(error);
    this.#finish('timeout');
    this.#upstream?.destroy();
    answerSocket(this.socket, 504, 'http_response_timeout', target.origin);
  }

  #upgraded(res: IncomingMessage, upstreamSocket: Duplex, upstreamHead: Buffer): void {
    this.route.deadlines.remove(this);
    const { ticket } = this.admission;
    ticket.success();
    this.#finish('success');
    const socket = this.socket;
    this.#upstreamSocket = upstreamSocket;
    if (socket.destroyed) {
      upstreamSocket.destroy();
      return;
    }
    socket.off('data', this.#onEarlyData);
    socket.off('end', this.#onEarlyEnd);
    socket.write(`HTTP/1.1 101 ${res.statusMessage ?? 'Switching Protocols'}\r\n${headerBlock(forwardResponseHeaders(res.rawHeaders, true))}\r\n`);
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (this.head.length > 0) upstreamSocket.write(this.head);
    for (const chunk of this.#early) upstreamSocket.write(chunk);
    this.#early = [];
    const closeBoth = (): void => {
      socket.destroy();
      upstreamSocket.destroy();
    };
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

  /** The target answered without upgrading: relay its answer and close. */
  #refused(res: IncomingMessage): void {
    this.route.deadlines.remove(this);
    const { target, ticket } = this.admission;
    const status = res.statusCode ?? 502;
    if (this.route.config.failureStatus.has(status)) ticket.failure(new UpstreamStatusError(target.origin, status));
    else ticket.success();
    this.#finish(this.route.config.failureStatus.has(status) ? 'failure_status' : 'success');
    // Without Content-Length and with Connection: close, the body runs to the end of the connection
    // (already de-chunked by Node, so no trailers either).
    const headers = withoutField(forwardResponseHeaders(res.rawHeaders, false, false), 'content-length');
    this.socket.write(`HTTP/1.1 ${status} ${res.statusMessage ?? ''}\r\n${headerBlock(headers)}Connection: close\r\n\r\n`);
    res.pipe(this.socket);
    closeWhenWritten(this.socket);
    // Cut off by the target: the client must not take the truncated body for a whole one.
    res.on('close', () => {
      if (!res.complete) this.socket.destroy();
    });
  }

  #failed(error: Error): void {
    if (this.#done) return;
    this.route.deadlines.remove(this);
    const { target, ticket } = this.admission;
    const { status, type } = classify(error);
    const failure = new UpstreamConnectionError(type, target.origin, error);
    this.owner.exchangeFailed(this, failure);
    ticket.failure(failure);
    this.#finish('error');
    answerSocket(this.socket, status, type, target.origin);
  }

  #clientClosed(): void {
    if (this.#done) return;
    this.route.deadlines.remove(this);
    this.admission.ticket.release();
    this.#finish('aborted');
    this.#upstream?.destroy();
  }

  #finish(outcome: 'success' | 'failure_status' | 'error' | 'timeout' | 'aborted'): void {
    if (this.#done) return;
    this.#done = true;
    const { target } = this.admission;
    target.inFlight--;
    target.record(outcome);
  }
}
