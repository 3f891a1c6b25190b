/**
 * Header rules for both directions, in one pass over `rawHeaders` each.
 *
 * Working on the raw `[name, value, name, value, ...]` array keeps the client's header order and
 * repeated fields as sent, and the same flat array goes back out through `requestHead()` and
 * `writeHead()`, so no header object is built per request.
 */
import type { IncomingMessage } from 'node:http';
import { forwardedElement, isForwardedList } from './forwarded.js';
import { isValidHost } from './path.js';
import { rewriteResponseField, type RewriteContext } from './rewrite.js';

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
const NOT_CONNECTION_OPTIONS = new Set([
  'via', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded', 'host', 'content-length',
]);

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
  /**
   * The authority of an absolute-form request-target: it chose the route, and it replaces the
   * client's `Host` (RFC 9112 3.2.2: a proxy must ignore `Host` then).
   */
  authority?: string | undefined;
  /** The port the client connected to on this proxy, sent as `X-Forwarded-Port`; left out when unknown. */
  port?: number | undefined;
  /** Append an RFC 7239 `Forwarded` element. */
  forwarded?: boolean | undefined;
}

/**
 * The headers to send upstream: hop-by-hop fields and the request's `Trailer` field dropped
 * (node-http-proxy#1647 crashed on it; it is only a hint, RFC 9110 6.6.2, and could name trailer
 * fields that lib/http1/trailers.ts drops: the trailers themselves follow the body), `Expect` dropped (this proxy answered the client's
 * `100-continue` itself, as nginx does), `Host` rewritten unless preserved, and the proxy's own
 * `Via` and `X-Forwarded-*` fields appended after the client's.
 *
 * Trust: `X-Forwarded-For` and, with `forwarded`, `Forwarded` keep what the client sent and get
 * this hop appended; a target trusts only the entries its own proxies appended, the last ones.
 * `X-Forwarded-Proto`, `-Host` and `-Port` describe this hop alone, so the client's are replaced.
 */
export function forwardRequestHeaders(req: IncomingMessage, context: ForwardContext): string[] {
  const raw = req.rawHeaders;
  const named = connectionOptions(raw);
  const out: string[] = [];
  let host = '';
  let hostSeen = false;
  let forwardedFor = '';
  let via = '';
  let forwarded = '';
  let chunked = false;
  let upgradeProtocol = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host':
        // The first, as in `req.headers.host`, which chose the route: a second Host must not
        // reach the target as the one it is asked for (RFC 9112 3.2 wants a 400 for it).
        if (!hostSeen) host = value;
        hostSeen = true;
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === '' ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'via':
        via = via === '' ? value : `${via}, ${value}`;
        continue;
      case 'forwarded':
        if (context.forwarded !== true) break;
        forwarded = forwarded === '' ? value : `${forwarded}, ${value}`;
        continue;
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
      case 'x-forwarded-port':
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
  if (context.authority !== undefined) host = context.authority;
  out.push('Host', context.preserveHost && host !== '' ? host : context.targetHost);
  out.push('X-Forwarded-For', forwardedFor === '' ? context.clientAddress : `${forwardedFor}, ${context.clientAddress}`);
  out.push('X-Forwarded-Proto', context.proto);
  if (context.port !== undefined) out.push('X-Forwarded-Port', `${context.port}`);
  if (host !== '') out.push('X-Forwarded-Host', host);
  if (context.forwarded === true) {
    const element = forwardedElement(context.clientAddress, host, context.proto);
    // A malformed list is replaced, not appended to: an open quoted-string would swallow this element.
    out.push('Forwarded', forwarded !== '' && isForwardedList(forwarded) ? `${forwarded}, ${element}` : element);
  }
  out.push('Via', via === '' ? VIA_ENTRY : `${via}, ${VIA_ENTRY}`);
  return out;
}

/**
 * The upstream's response headers to relay: hop-by-hop fields and those named in `Connection`
 * dropped; Node frames the body itself (chunked or Content-Length).
 *
 * `Trailer` stays only when the client's response can carry trailers: `trailers` (the caller's
 * word that Node will chunk it: a body, an HTTP/1.1 client) and no `Content-Length`. Trailers need
 * chunked framing (RFC 9112 7.1.2), and Node's `writeHead()` throws ERR_HTTP_TRAILER_INVALID on a
 * `Trailer` field of any response it does not chunk (a HEAD answer, an HTTP/1.0 client).
 *
 * With `context`, its route's rewrites (rewrite.ts) apply to `Location`, `Content-Location` and
 * `Set-Cookie` as they are copied.
 */
export function forwardResponseHeaders(raw: readonly string[], upgrade = false, trailers = true, context?: RewriteContext): string[] {
  const rules = context?.route.config.rewrite;
  const named = connectionOptions(raw);
  const out: string[] = [];
  let trailer = false;
  let contentLength = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (upgrade && (lower === 'connection' || lower === 'upgrade')) {
      out.push(name, raw[i + 1]!);
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (named !== undefined && named.has(lower)) continue;
    if (lower === 'trailer') {
      if (!trailers) continue;
      trailer = true;
    } else if (lower === 'content-length') {
      contentLength = true;
    } else if (rules !== undefined && (lower.length === 8 || lower.length === 10 || lower.length === 16)) {
      // Only location (8), set-cookie (10) and content-location (16) are rewritten: the length
      // rules out most other fields before any string comparison.
      out.push(name, rewriteResponseField(lower, raw[i + 1]!, rules, context!));
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  // A Trailer field next to Content-Length is a lie (that framing has no trailers): drop it (rare).
  return trailer && contentLength ? withoutField(out, 'trailer') : out;
}

/** `raw` without the fields named `lower` (a lower-case name). */
export function withoutField(raw: readonly string[], lower: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() !== lower) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

/** Whether a `Via` field value names this proxy: the request already passed through it (a loop). */
export function viaNamesThisProxy(value: string): boolean {
  if (!value.includes(VIA_TOKEN)) return false;
  for (const entry of value.split(',')) {
    // "1.1 proxy-breaker" or "1.1 proxy-breaker (comment)": the received-by part is the token.
    if (entry.trim().split(/\s+/)[1] === VIA_TOKEN) return true;
  }
  return false;
}

/** Whether the request carries a body (RFC 9112 6.3: Transfer-Encoding, or a non-zero Content-Length). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Request header fields allowed (Envoy's and HAProxy's default is about the same); more get 431. */
export const MAX_REQUEST_FIELDS = 100;

/** Why a request head that Node's parser accepted must still not be forwarded. */
export type HeadProblem = 'fields' | 'framing' | 'host' | 'loop';

/**
 * What is wrong with a request head that Node's parser let through, or `undefined`:
 * - `fields`: more than `MAX_REQUEST_FIELDS` fields. Node keeps about the first 1000 and drops the
 *   rest without a word, and so does a Node target: a client could push the fields this proxy
 *   appends (`Host`, `X-Forwarded-For`, `Via`) out of what the target reads.
 * - `framing`: a `Transfer-Encoding` other than exactly `chunked`, or any on HTTP/1.0 (RFC 9112
 *   6.1: treat the framing as faulty). Node decodes only the chunked coding and this proxy
 *   re-frames the body, so `gzip, chunked` would lose its gzip, and codings around `chunked`
 *   are how proxies and servers come to disagree on where a request ends (smuggling).
 * - `host`: more than one `Host` field or an invalid one (RFC 9112 3.2: 400). Node keeps the first
 *   for routing, `X-Forwarded-Host` would carry the last.
 * - `loop`: a `Via` field names this proxy: forwarding it would send it round again (508).
 * One pass over the fields for the last two.
 */
export function headProblem(req: IncomingMessage): HeadProblem | undefined {
  const raw = req.rawHeaders;
  if (raw.length > 2 * MAX_REQUEST_FIELDS) return 'fields';
  const coding = req.headers['transfer-encoding'];
  if (coding !== undefined && (req.httpVersion === '1.0' || coding.toLowerCase() !== 'chunked')) return 'framing';
  const host = req.headers.host;
  if (host !== undefined && !isValidHost(host)) return 'host';
  let hosts = 0;
  let loop = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return 'host';
    if (name.length === 3 && !loop && name.toLowerCase() === 'via') loop = viaNamesThisProxy(raw[i + 1]!);
  }
  return loop ? 'loop' : undefined;
}
