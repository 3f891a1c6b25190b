/**
 * `Upgrade` requests (WebSocket and the like): forwarded to an admitted target and, once it
 * answers 101, turned into a byte tunnel. The breaker sees the handshake: connection failures,
 * a timeout or a failure status count against the target; what flows in the tunnel does not.
 */
import { STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http';
import type { RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { DeadlineEntry } from '../deadlines.js';
import { UpstreamConnectionError, UpstreamStatusError, UpstreamTimeoutError, type UpstreamError } from '../errors.js';
import { PROXY_NAME, type ProxyErrorType } from './answers.js';
import { classify } from './forward.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.js';
import type { Admission, Route } from './routes.js';

export interface TunnelOwner {
  readonly preserveHost: boolean;
  exchangeFailed(tunnel: Tunnel, error: UpstreamError): void;
}

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
  #done = false;

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
    const options: RequestOptions = {
      agent: target.agent,
      host: target.hostname,
      port: target.port,
      servername: target.https ? target.url.hostname : undefined,
      method: req.method,
      path,
      setHost: false,
      headers: forwardRequestHeaders(req, {
        targetHost: target.hostHeader,
        preserveHost: this.owner.preserveHost,
        proto: (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http',
        clientAddress: req.socket.remoteAddress ?? '',
        upgrade: true,
      }),
    };
    const upstream = target.request(options);
    this.#upstream = upstream;
    this.route.deadlines.add(this);
    upstream.on('upgrade', (res, upstreamSocket, upstreamHead) => this.#upgraded(res, upstreamSocket, upstreamHead));
    upstream.on('response', (res) => this.#refused(res));
    upstream.on('error', (error) => this.#failed(error));
    this.socket.on('close', () => this.#clientClosed());
    upstream.end();
  }

  expire(): void {
    const { target, ticket } = this.admission;
    const error = new UpstreamTimeoutError(target.origin, this.route.config.timeout);
    ticket.failure(error);
    this.owner.exchangeFailed(this, error);
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
    if (socket.destroyed) {
      upstreamSocket.destroy();
      return;
    }
    socket.write(`HTTP/1.1 101 ${res.statusMessage ?? 'Switching Protocols'}\r\n${headerBlock(forwardResponseHeaders(res.rawHeaders, true))}\r\n`);
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (this.head.length > 0) upstreamSocket.write(this.head);
    const closeBoth = (): void => {
      socket.destroy();
      upstreamSocket.destroy();
    };
    socket.on('error', closeBoth);
    upstreamSocket.on('error', closeBoth);
    socket.on('close', closeBoth);
    upstreamSocket.on('close', closeBoth);
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
    const headers = forwardResponseHeaders(res.rawHeaders).filter((_, i, all) => {
      const name = (i % 2 === 0 ? all[i] : all[i - 1])!.toLowerCase();
      return name !== 'content-length';
    });
    // Without Content-Length and with Connection: close, the body runs to the end of the connection.
    this.socket.write(`HTTP/1.1 ${status} ${res.statusMessage ?? ''}\r\n${headerBlock(headers)}Connection: close\r\n\r\n`);
    res.pipe(this.socket);
  }

  #failed(error: Error): void {
    if (this.#done) return;
    this.route.deadlines.remove(this);
    const { target, ticket } = this.admission;
    const { status, type } = classify(error);
    const failure = new UpstreamConnectionError(type, target.origin, error);
    ticket.failure(failure);
    this.owner.exchangeFailed(this, failure);
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
