/**
 * The TLS listener: HTTPS for HTTP/1.1 clients and HTTP/2 for clients that offer `h2` by ALPN,
 * on one port (RFC 9113 3.2: h2 is only offered over TLS here; h2c, cleartext HTTP/2, is not).
 * Upstream stays HTTP/1.1.
 *
 * HTTP/2 requests reach the same `proxy.handler` as HTTP/1.1 ones through Node's compatibility
 * API. Where that API differs from `http.IncomingMessage`/`ServerResponse` in a way the proxy's
 * code depends on, the two classes below make an h2 request look like the HTTP/1.1 request it
 * stands for, once, when the stream opens, so that the HTTP/1.1 path checks nothing per request:
 * - `rawHeaders` carries pseudo-header fields (`:method`, `:path`, `:scheme`, `:authority`):
 *   they are left out, and `:authority` becomes `Host` when the client sent none (RFC 9113
 *   8.3.1); both present and different is refused with 400.
 * - a request body need not announce itself (no `Content-Length`, no chunked coding: DATA frames
 *   frame it): such a request is marked `Transfer-Encoding: chunked`, which is how it is framed
 *   upstream.
 * - `writeHead()` with a reason phrase makes Node warn (h2 has none): it is dropped.
 * - `useChunkedEncodingByDefault` is missing: an h2 response carries trailers whatever its length
 *   (RFC 9113 8.1), so it is true.
 * - `req.socket` is the connection's, shared by every stream: a refusal that condemns an
 *   HTTP/1.1 connection must not mark it (proxy.ts).
 * Connection-specific response fields (RFC 9113 8.2.2) never reach `writeHead()`: the response
 * header rules (headers.ts) drop every hop-by-hop field for HTTP/1.1 clients already.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { sendAnswer } from './answers.js';

/** The certificate and key the TLS listener serves, PEM. */
export interface TlsCertificate {
  cert: string | Buffer;
  key: string | Buffer;
}

/** HTTP/2 limits of the TLS listener; documented in docs/security.md. */
export const H2_LIMITS = {
  /**
   * Streams a client may have open at once on one connection (RFC 9113 6.5.2
   * SETTINGS_MAX_CONCURRENT_STREAMS). Node's default is unlimited; RFC 9113 5.1.2 recommends no
   * less than 100 (Envoy's edge guidance uses 100, nginx 128).
   */
  maxConcurrentStreams: 100,
  /** Request header list size (SETTINGS_MAX_HEADER_LIST_SIZE), the same 16 KiB as HTTP/1.1's head. */
  maxHeaderListSize: 16 * 1024,
  /**
   * A connection with no frame for this long gets a GOAWAY: streams under way finish, no new ones
   * start, and the client opens a new connection for its next request.
   */
  sessionIdleTimeout: 60_000,
  /**
   * A request body must have arrived whole this long after the request's head, as
   * SERVER_LIMITS.requestTimeout for HTTP/1.1 (slow POST); past it the stream is reset.
   */
  requestTimeout: 300_000,
  /** How often the request timeout is checked (as SERVER_LIMITS.connectionsCheckingInterval). */
  checkInterval: 1_000,
} as const;

/** The request timeout and how often it is checked; `createSecureServer` takes shorter ones in tests. */
export interface UploadLimits {
  requestTimeout: number;
  checkInterval: number;
}

/** What the TLS listener calls: the proxy's handlers. */
export interface ServerHooks {
  handler(req: http.IncomingMessage, res: http.ServerResponse): void;
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Called once per request that arrived over TLS, with its protocol. */
  counted(protocol: ClientProtocol): void;
}

export type ClientProtocol = 'http/1.1' | 'h2';

/** A server's tracked connections and uploads (`Tracked`), on the server, its sessions and sockets. */
const kTracked = Symbol('proxy-breaker.h2Connections');
/** Why an h2 request is refused before it is routed: the status to answer, 0 for none. */
const kRefusal = Symbol('proxy-breaker.h2Refusal');
/** `:authority` and `Host` disagree (RFC 9113 8.3.1). */
const REFUSE_CONFLICT = 400;
/** The header list is larger than SETTINGS_MAX_HEADER_LIST_SIZE (as HTTP/1.1's 431 for a large head). */
const REFUSE_SIZE = 431;

/** An h2 request as the proxy reads an HTTP/1.1 one (see the module's comment). */
export class H2Request extends http2.Http2ServerRequest {
  [kRefusal] = 0;
  [kTracked]: Tracked | undefined = undefined;

  constructor(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, options: unknown, rawHeaders: string[]) {
    // @ts-expect-error Node's constructor takes the stream's options object; @types leaves it out.
    super(stream, headers, options, rawHeaders);
    const raw: string[] = [];
    // The header list size as RFC 9113 6.5.2 counts it; nghttp2 announces the limit but does not
    // enforce it on what it receives.
    let size = 0;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      const value = rawHeaders[i + 1]!;
      size += name.length + value.length + 32;
      if (name.charCodeAt(0) !== 58 /* : */) raw.push(name, value);
    }
    if (size > H2_LIMITS.maxHeaderListSize) this[kRefusal] = REFUSE_SIZE;
    const authority = headers[':authority'];
    const host = headers.host;
    if (authority !== undefined) {
      if (host === undefined) {
        raw.push('host', authority);
        headers.host = authority;
      } else if (host.toLowerCase() !== authority.toLowerCase()) {
        this[kRefusal] = REFUSE_CONFLICT;
      }
    }
    if (!stream.endAfterHeaders) {
      if (headers['content-length'] === undefined) {
        raw.push('transfer-encoding', 'chunked');
        headers['transfer-encoding'] = 'chunked';
      }
      // A body follows: it must be whole by the request timeout (the server's sweep checks).
      const tracked = (stream.session as TrackedSession | undefined)?.[kTracked];
      if (tracked !== undefined) {
        tracked.uploads.set(this, performance.now() + tracked.limits.requestTimeout);
        this[kTracked] = tracked;
        this.on('end', onUploadDone);
        this.on('close', onUploadDone);
      }
    }
    // Node's `rawHeaders` is a getter on the prototype; this instance's own value shadows it.
    Object.defineProperty(this, 'rawHeaders', { value: raw });
  }
}

/** An h2 response that takes the calls `http.ServerResponse` takes (see the module's comment). */
export class H2Response extends http2.Http2ServerResponse {
  readonly useChunkedEncodingByDefault = true;
  /** Read by the proxy on HTTP/1.1 responses; a connection-level idea that h2 streams do not have. */
  shouldKeepAlive = true;

  override writeHead(status: number, message?: string | http.OutgoingHttpHeaders | string[], headers?: http.OutgoingHttpHeaders | string[]): this {
    return typeof message === 'string' ? super.writeHead(status, headers as http.OutgoingHttpHeaders) : super.writeHead(status, message as http.OutgoingHttpHeaders);
  }

  /** Takes `[name, value]` pairs too, as `http.ServerResponse` does (Node's h2 one reads an object only). */
  override addTrailers(trailers: http.OutgoingHttpHeaders | ReadonlyArray<[string, string]>): void {
    if (!Array.isArray(trailers)) return super.addTrailers(trailers as http.OutgoingHttpHeaders);
    for (const [name, value] of trailers as ReadonlyArray<[string, string]>) (this as unknown as { setTrailer(name: string, value: string): void }).setTrailer(name, value);
  }
}

// Node's h2 response reports `writableFinished` true once its stream closed, reset by the client
// or not; the proxy reads it on 'close' to tell a finished response from a client that went away.
Object.defineProperty(H2Response.prototype, 'writableFinished', {
  get(this: H2Response): boolean {
    return this.writableEnded;
  },
});

/**
 * The TLS server for `hooks`: HTTP/1.1 and h2 by ALPN, with `configure` applying the same
 * HTTP/1.1 limits and listeners as the cleartext server.
 */
export function createSecureServer(
  certificate: TlsCertificate,
  hooks: ServerHooks,
  configure: (server: http.Server) => void,
  limits: UploadLimits = H2_LIMITS,
): http2.Http2SecureServer {
  const server = http2.createSecureServer({
    cert: certificate.cert,
    key: certificate.key,
    allowHTTP1: true,
    // The compat classes above stand in for Node's (public options of `http2.createSecureServer`).
    Http2ServerRequest: H2Request as unknown as typeof http2.Http2ServerRequest,
    Http2ServerResponse: H2Response as unknown as typeof http2.Http2ServerResponse,
    settings: { maxConcurrentStreams: H2_LIMITS.maxConcurrentStreams, maxHeaderListSize: H2_LIMITS.maxHeaderListSize, enableConnectProtocol: false },
  });
  // HTTP/1.1 over TLS runs on Node's http server code with this server as `this` (allowHTTP1):
  // its timeouts, limits and listeners are read from here.
  configure(server as unknown as http.Server);
  // WebSocket over HTTPS: HTTP/1.1 upgrades (h2 has none: extended CONNECT is off).
  server.on('upgrade', hooks.upgrade);
  server.on('request', (req: http.IncomingMessage | H2Request, res: http.ServerResponse | H2Response) => {
    if (req.httpVersionMajor !== 2) {
      hooks.counted('http/1.1');
      return hooks.handler(req as http.IncomingMessage, res as http.ServerResponse);
    }
    hooks.counted('h2');
    const refusal = (req as H2Request)[kRefusal];
    if (refusal !== 0) return sendAnswer(res as unknown as http.ServerResponse, refusal, 'http_request_error');
    hooks.handler(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse);
  });
  const tracked: Tracked = { sessions: new Set(), sockets: new Set(), uploads: new Map(), limits };
  (server as SecureServer)[kTracked] = tracked;
  const sweep = setInterval(sweepUploads, limits.checkInterval, tracked.uploads);
  sweep.unref();
  server.once('close', () => clearInterval(sweep));
  server.on('session', onSession);
  server.on('connection', onConnection);
  return server;
}

/**
 * A server's h2 sessions, every TCP connection it accepted (see `closeH2`), and the h2 requests
 * whose body is still arriving, each with its deadline.
 */
interface Tracked {
  sessions: Set<http2.ServerHttp2Session>;
  sockets: Set<Socket>;
  uploads: Map<H2Request, number>;
  limits: UploadLimits;
}

function onUploadDone(this: H2Request): void {
  this[kTracked]?.uploads.delete(this);
}

/**
 * Resets the streams whose body is late. Reset, not answered with 408 as HTTP/1.1 is: the request
 * may be on its way upstream already, and a reset ends it as a client that went away does (the
 * upstream request aborted, the target not charged).
 */
function sweepUploads(uploads: Map<H2Request, number>): void {
  if (uploads.size === 0) return;
  const now = performance.now();
  for (const [req, deadline] of uploads) {
    if (deadline > now) continue;
    uploads.delete(req);
    req.stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}
type SecureServer = http2.Http2SecureServer & { [kTracked]: Tracked };
type TrackedSession = http2.ServerHttp2Session & { [kTracked]: Tracked };
type TrackedSocket = Socket & { [kTracked]: Tracked };

/**
 * Closes the h2 connections of a server made by `createSecureServer`: `graceful` sends GOAWAY
 * (RFC 9113 6.8: streams under way finish, no new ones start); otherwise every connection it
 * accepted is destroyed, HTTP/1.1 ones and those still in their TLS handshake included (a
 * client's handshake ends before the server's: a session may start after a graceful close).
 */
export function closeH2(server: http2.Http2SecureServer, graceful: boolean): void {
  const { sessions, sockets } = (server as SecureServer)[kTracked];
  for (const session of sessions) {
    if (graceful) session.close();
    else session.destroy();
  }
  // A session closed before the client's preface arrived is destroyed without closing its socket
  // (Node 20), which would keep server.close() waiting forever: the TCP socket goes too.
  if (!graceful) for (const socket of sockets) socket.destroy();
}

function onSession(this: SecureServer, session: http2.ServerHttp2Session): void {
  const tracked = this[kTracked];
  tracked.sessions.add(session);
  (session as TrackedSession)[kTracked] = tracked;
  session.on('close', onSessionClose);
  session.setTimeout(H2_LIMITS.sessionIdleTimeout, onSessionIdle);
  // A session error (a protocol violation by the client) ends that session only.
  session.on('error', ignore);
}

function onSessionClose(this: TrackedSession): void {
  this[kTracked].sessions.delete(this);
}

function onConnection(this: SecureServer, socket: Socket): void {
  const tracked = this[kTracked];
  tracked.sockets.add(socket);
  (socket as TrackedSocket)[kTracked] = tracked;
  socket.on('close', onSocketClose);
}

function onSocketClose(this: TrackedSocket): void {
  this[kTracked].sockets.delete(this);
}

function onSessionIdle(this: http2.ServerHttp2Session): void {
  this.close();
}

function ignore(): void {}
