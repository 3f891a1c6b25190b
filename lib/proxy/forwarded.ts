/**
 * The RFC 7239 `Forwarded` field: the element this proxy appends, and the check that an incoming
 * value is well-formed before anything is appended to it.
 */
import { TCHAR, TOKEN } from '../http1/syntax.js';

/** A `Forwarded` parameter value: a token as it is, anything else as a quoted-string (RFC 7239 4). */
function parameterValue(value: string): string {
  // Callers pass addresses and validated hosts: no `"` or `\` to escape.
  return TOKEN.test(value) ? value : `"${value}"`;
}

/**
 * The `for=` node of a client address (RFC 7239 6): an IPv6 address in brackets, quoted (`:` is
 * not a token character); `unknown` when the socket had no address left.
 */
export function forwardedNode(address: string): string {
  if (address === '') return 'unknown';
  return address.includes(':') ? `"[${address}]"` : address;
}

/**
 * This proxy's element: `for` (the client's address), `host` (the `Host` the client asked for,
 * left out when it sent none) and `proto` (`http` or `https`). No `by`: it would name this
 * proxy's own interface, which the target has no use for and a response could leak.
 */
export function forwardedElement(clientAddress: string, host: string, proto: string): string {
  const node = forwardedNode(clientAddress);
  return host === '' ? `for=${node};proto=${proto}` : `for=${node};host=${parameterValue(host)};proto=${proto}`;
}

const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const COMMA = 44;
const SEMICOLON = 59;
const EQUALS = 61;
const BACKSLASH = 92;

function isTokenChar(code: number): boolean {
  return code < 128 && TOKEN_CHARS[code] === 1;
}
/** tchar as a table by character code, built from the one definition (lib/http1/syntax.ts). */
const TOKEN_CHARS = new Uint8Array(128);
const ONE_TCHAR = new RegExp(`^${TCHAR}$`);
for (let code = 0; code < 128; code++) TOKEN_CHARS[code] = ONE_TCHAR.test(String.fromCharCode(code)) ? 1 : 0;

/**
 * Whether `value` is a well-formed `Forwarded` list (RFC 7239 4: elements of `token=value` pairs
 * separated by `;`, elements by `,`; white space allowed around both separators, as senders write
 * it). An element appended after an unterminated quoted-string would be read as part of that
 * string, so a malformed incoming value is replaced, never appended to.
 */
export function isForwardedList(value: string): boolean {
  const n = value.length;
  let i = 0;
  for (;;) {
    while (i < n && (value.charCodeAt(i) === SPACE || value.charCodeAt(i) === TAB)) i++;
    if (i === n) return true;
    const code = value.charCodeAt(i);
    if (code === COMMA || code === SEMICOLON) {
      // An empty list member or pair: allowed (RFC 9110 5.6.1, `[ forwarded-pair ]`).
      i++;
      continue;
    }
    const nameStart = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    if (i === nameStart || value.charCodeAt(i) !== EQUALS) return false;
    i++;
    if (value.charCodeAt(i) === QUOTE) {
      i++;
      for (;;) {
        if (i >= n) return false;
        let c = value.charCodeAt(i);
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          // quoted-pair: the escaped character must be there and printable, like any other.
          if (++i >= n) return false;
          c = value.charCodeAt(i);
        }
        if ((c < SPACE && c !== TAB) || c === 127) return false;
        i++;
      }
      i++;
    } else {
      const valueStart = i;
      while (i < n && isTokenChar(value.charCodeAt(i))) i++;
      if (i === valueStart) return false;
    }
    while (i < n && (value.charCodeAt(i) === SPACE || value.charCodeAt(i) === TAB)) i++;
    if (i === n) return true;
    const next = value.charCodeAt(i);
    if (next !== COMMA && next !== SEMICOLON) return false;
    i++;
  }
}
