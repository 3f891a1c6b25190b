/**
 * Header rules for both directions, in one pass over `rawHeaders` each.
 *
 * Working on the raw `[name, value, name, value, ...]` array keeps the client's header order and
 * repeated fields as sent, and Node accepts the same flat array back in `http.request()` and
 * `writeHead()`, so no header object is built per request.
 */
import type { IncomingMessage } from 'node:http';

/** The token this proxy adds to `Via`; seeing it on an incoming request means a loop. */
export const VIA_TOKEN = 'proxy-breaker';
const VIA_ENTRY = `1.1 ${VIA_TOKEN}`;

/**
 * Hop-by-hop fields (RFC 9110 7.6.1): they describe one connection, never the message, so a
 * proxy must not forward them. `Proxy-Connection` is the pre-standard spelling clients still send.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

/**
 * Fields a client must not be able to remove by naming them in `Connection`: the ones this proxy
 * writes itself (`Connection: X-Forwarded-For` would otherwise hide the client's address), and the
 * body's framing (dropping `Content-Length` while the body is still sent would desync the upstream).
 */
const NOT_CONNECTION_OPTIONS = new Set(['via', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'host', 'content-length']);

/** Names listed in every `Connection` field, lower-cased; `undefined` when there are none. */
function connectionOptions(raw: readonly string[]): Set<string> | undefined {
  let names: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const option of raw[i + 1]!.split(',')) {
      const token = option.trim().toLowerCase();
      if (token === '' || token === 'close' || token === 'keep-alive' || token === 'upgrade') continue;
      (names ??= new Set()).add(token);
    }
  }
  return names;
}

export interface ForwardRequestHeaders {
  /** The flat header list to send upstream. */
  headers: string[];
  /** The client's `Host`, for `X-Forwarded-Host` and host routing. */
  host: string;
}

export interface ForwardContext {
  /** The `Host` to send when the client's is not preserved. */
  targetHost: string;
  preserveHost: boolean;
  /** `http` or `https`: how the client reached this proxy. */
  proto: string;
  /** The client's address, appended to `X-Forwarded-For`. */
  clientAddress: string;
  /** Keep `Connection: upgrade` and `Upgrade` (a WebSocket handshake). */
  upgrade: boolean;
}

/**
 * The headers to send upstream: hop-by-hop fields and the request's `Trailer` field dropped
 * (node-http-proxy#1647 crashed on it), `Expect` dropped (this proxy answered the client's
 * `100-continue` itself, as nginx does), `Host` rewritten unless preserved, and the proxy's own
 * `Via` and `X-Forwarded-*` fields appended after the client's.
 */
export function forwardRequestHeaders(req: IncomingMessage, context: ForwardContext): string[] {
  const raw = req.rawHeaders;
  const named = connectionOptions(raw);
  const out: string[] = [];
  let host = '';
  let forwardedFor = '';
  let via = '';
  let chunked = false;
  let upgradeProtocol = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host':
        host = value;
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === '' ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'via':
        via = via === '' ? value : `${via}, ${value}`;
        continue;
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
      case 'trailer':
      case 'expect':
        continue;
      case 'transfer-encoding':
        // Node's parser has already decoded the chunked framing; the body is re-framed below.
        chunked = true;
        continue;
      case 'upgrade':
        upgradeProtocol = value;
        continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (named !== undefined && named.has(lower) && !NOT_CONNECTION_OPTIONS.has(lower)) continue;
    out.push(name, value);
  }
  if (context.upgrade && upgradeProtocol !== '') out.push('Connection', 'Upgrade', 'Upgrade', upgradeProtocol);
  if (chunked) {
    // Say so explicitly: for DELETE, OPTIONS and the like Node would not chunk a streamed body by
    // default, and a body without framing is how smuggling starts (node-http-proxy#1720).
    out.push('Transfer-Encoding', 'chunked');
  }
  out.push('Host', context.preserveHost && host !== '' ? host : context.targetHost);
  out.push('X-Forwarded-For', forwardedFor === '' ? context.clientAddress : `${forwardedFor}, ${context.clientAddress}`);
  out.push('X-Forwarded-Proto', context.proto);
  if (host !== '') out.push('X-Forwarded-Host', host);
  out.push('Via', via === '' ? VIA_ENTRY : `${via}, ${VIA_ENTRY}`);
  return out;
}

/**
 * The upstream's response headers to relay: hop-by-hop fields and those named in `Connection`
 * dropped. `Trailer` stays, and Node frames the body itself (chunked or Content-Length).
 */
export function forwardResponseHeaders(raw: readonly string[], upgrade = false): string[] {
  const named = connectionOptions(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (upgrade && (lower === 'connection' || lower === 'upgrade')) {
      out.push(name, raw[i + 1]!);
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (named !== undefined && named.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** Whether this request already passed through this proxy (its own `Via` token is present). */
export function isLoop(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 3 && name.toLowerCase() === 'via' && raw[i + 1]!.includes(VIA_TOKEN)) {
      for (const entry of raw[i + 1]!.split(',')) {
        // "1.1 proxy-breaker" or "1.1 proxy-breaker (comment)": the received-by part is the token.
        const receivedBy = entry.trim().split(/\s+/)[1];
        if (receivedBy === VIA_TOKEN) return true;
      }
    }
  }
  return false;
}

/** Whether the request carries a body (RFC 9112 6.3: Transfer-Encoding, or a non-zero Content-Length). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
