/**
 * Which trailer fields may be passed on, in both directions (request trailers to the target,
 * response trailers to the client).
 *
 * RFC 9110 6.5.1: fields that must be known before the content (framing, routing, authentication,
 * request modifiers, response controls, content format) cannot be acted on from a trailer section,
 * and a sender must not put them there. A recipient that merges trailers into the header section
 * (some frameworks do) would act on them anyway, so they are dropped, not relayed. Dropping, not
 * refusing: the trailer section comes after the whole body, which is framed by chunked coding and
 * already passed on; refusing then would cut off a response that arrived intact.
 */

/** Names (lower-case) dropped from every trailer section. */
const NOT_IN_TRAILERS = new Set([
  // Framing (RFC 9112 6), and the fields that describe the connection (RFC 9110 7.6.1).
  'content-length',
  'transfer-encoding',
  'trailer',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'upgrade',
  // Routing, and what this proxy writes about the route itself.
  'host',
  'via',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  // Authentication and state.
  'authorization',
  'proxy-authorization',
  'www-authenticate',
  'proxy-authenticate',
  'cookie',
  'set-cookie',
  // Request modifiers and response controls.
  'expect',
  'max-forwards',
  'range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'cache-control',
  'pragma',
  'expires',
  'age',
  'vary',
  'location',
  'retry-after',
  // Content format.
  'content-type',
  'content-encoding',
  'content-range',
]);

/** Whether a trailer field of this name (any case) would be dropped. */
function allowedInTrailers(name: string): boolean {
  return !NOT_IN_TRAILERS.has(name.toLowerCase());
}

/**
 * `raw` (`[name, value, ...]`) without the fields that may not be acted on from trailers; the
 * same array when nothing is dropped (the common case), `undefined` when nothing is left.
 */
export function forwardableTrailers(raw: string[]): string[] | undefined {
  let out: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (allowedInTrailers(name)) {
      out?.push(name, raw[i + 1]!);
    } else {
      out ??= raw.slice(0, i);
    }
  }
  const kept = out ?? raw;
  return kept.length === 0 ? undefined : kept;
}
