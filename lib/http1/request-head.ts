/**
 * Serializes a request head for an upstream connection: `METHOD path HTTP/1.1`, the fields, CRLF.
 *
 * The fields come from Node's parser (which refused control characters in them) or from this
 * proxy, but the head is checked again here, as `http.request()` would: a CR or LF that got into a
 * path or value from anywhere would split the request in two at the target.
 */

import { INVALID_TEXT, TOKEN } from './syntax.js';

/** A request-target: visible ASCII and obs-text, no space or control character (as Node checks). */
const INVALID_PATH = /[^\x21-\xff]/;

/**
 * The head, or `undefined` when a part of it is not valid HTTP (nothing is sent then). It ends
 * with the pool's own `Connection: keep-alive` (HTTP/1.1's default, said anyway, as Node's client
 * does), and then `fields` must not carry a `Connection` field of their own; with `keepAlive`
 * false they carry it (`Connection: Upgrade` for a request that asks to switch protocols).
 */
export function requestHead(method: string, path: string, fields: readonly string[], keepAlive = true): string | undefined {
  if (!TOKEN.test(method) || path === '' || INVALID_PATH.test(path)) return undefined;
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (!TOKEN.test(name) || INVALID_TEXT.test(value)) return undefined;
    head += `${name}: ${value}\r\n`;
  }
  return keepAlive ? `${head}Connection: keep-alive\r\n\r\n` : `${head}\r\n`;
}
