/**
 * A strict, incremental HTTP/1.1 response parser for the proxy's upstream connections.
 *
 * Why not Node's client: `http.request` builds a ClientRequest, an IncomingMessage and a stream
 * pipe per request, and under load that cost more CPU than everything else the proxy does
 * (bench/README.md). This parser does only what a proxy needs: the status, the raw fields, the
 * body framing (RFC 9112 6.3), and the body as slices of the socket's own buffers.
 *
 * Strict where a lenient parser would let a target smuggle or split responses, as Node's llhttp
 * is in its default mode: CRLF line endings only, no obs-fold, token field names, no control
 * characters in values, status codes 100-599, no Content-Length next to Transfer-Encoding, no
 * duplicate Content-Length, a bounded head, and the same checks on interim (1xx) heads. Where
 * llhttp and the RFC read a response differently (a tab after a framing value, empty list members
 * in Transfer-Encoding, whitespace in chunk extensions), it is refused: whichever of the two a
 * peer beside the target follows, it cannot then read a different body. A violation is an error
 * with an `HPE_*` code, the codes Node uses, so `classify()` maps it the same way.
 */

import { INVALID_TEXT, TCHAR, TOKEN } from './syntax.js';
import { forwardableTrailers } from './trailers.js';

/** Head size limit, as Node's default `--max-http-header-size`. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** Limit of one chunk-size line with its extensions (Node's limit since CVE-2024-22019 is 16 KiB). */
const MAX_CHUNK_LINE = 16 * 1024;

export interface ResponseHead {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** `[name, value, name, value, ...]` as received, values without surrounding whitespace. */
  readonly rawHeaders: string[];
}

export interface ResponseHandler {
  /** An interim (1xx) response other than 101; its fields are not kept. */
  onInterim(): void;
  /** The final response's head. */
  onHead(head: ResponseHead): void;
  /** A piece of the body; `last` when it completes the body (then `onComplete` follows). */
  onBody(chunk: Buffer, last: boolean): void;
  /** The response is complete. Trailers are the chunked body's trailer fields, if any. */
  onComplete(trailers: string[] | undefined): void;
}

export class ParseError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ParseError';
    this.code = code;
  }
}

const enum State {
  HEAD,
  FIXED,
  CHUNK_SIZE,
  CHUNK_DATA,
  CHUNK_DATA_END,
  TRAILERS,
  UNTIL_CLOSE,
  DONE,
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LF = Buffer.from('\n');
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: ([^]*))?$/;
const DIGITS = /^[0-9]{1,15}$/;
/**
 * `*( ";" name [ "=" ( token / quoted-string ) ] )`, starting at the first ";": RFC 9112 7.1.1
 * without its BWS. BWS is whitespace a sender must not send (RFC 9110 5.6.3), llhttp refuses it
 * (`5; a=b` is HPE_STRICT there), and parsers that disagree on a chunk-size line disagree on
 * where the body ends; so a space or tab outside a quoted string is refused here too. Every
 * optional part starts with a character the part before it cannot match (";", "="), so a long
 * hostile line cannot make the match backtrack.
 */
const QUOTED_STRING = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const CHUNK_EXTENSIONS = new RegExp(`^(?:;${TCHAR}+(?:=(?:${TCHAR}+|${QUOTED_STRING}))?)+$`);

const EMPTY = Buffer.alloc(0);

function overflow(code: string): ParseError {
  return new ParseError(code, code === 'HPE_HEADER_OVERFLOW' ? 'response head or trailers too large' : 'chunk-size line too long');
}

/** How many bytes at the end of `buffer[0, end)` are the start of `terminator` (fewer than all of it). */
function partialEnd(buffer: Buffer, end: number, terminator: Buffer): number {
  for (let k = Math.min(terminator.length - 1, end); k > 0; k--) {
    if (buffer.compare(terminator, 0, k, end - k, end) === 0) return k;
  }
  return 0;
}

export class ResponseParser {
  /** Bytes of the last chunk given to `execute()` that came after the complete response. */
  leftover = 0;
  /** The connection may carry another request after this response (HTTP/1.1 without `close`). */
  keepAlive = false;
  /** `Keep-Alive: timeout=N` of the response, in seconds; 0 when absent. */
  keepAliveTimeout = 0;
  /**
   * The response was a 101 to a request that asked to upgrade: the head was the last of HTTP on
   * this connection, and `leftover` counts the first bytes of the new protocol.
   */
  upgraded = false;

  readonly #handler: ResponseHandler;
  #state = State.DONE;
  #noBody = false;
  /** The request asked to switch protocols (`Upgrade`): a 101 is its final answer. */
  #upgrade = false;
  /** The start of a section split over reads (see #gather), and how many bytes of it there are. */
  #stash: Buffer | undefined = undefined;
  #stashed = 0;
  /** Where #gather found the section: its buffer, its start, and the offset after it in the chunk. */
  #section: Buffer = EMPTY;
  #sectionStart = 0;
  #next = 0;
  /** Body bytes still expected: of the fixed-length body, or of the current chunk. */
  #remaining = 0;
  #trailers: string[] | undefined = undefined;
  #stopped = false;
  /** An interim response closed the connection: no final response may follow on it. */
  #closedByInterim = false;

  constructor(handler: ResponseHandler) {
    this.#handler = handler;
  }

  /**
   * Gets ready for the response to a new request; `noBody` for a HEAD request, `upgrade` for one
   * that asked to switch protocols.
   */
  start(noBody: boolean, upgrade = false): void {
    this.#state = State.HEAD;
    this.#noBody = noBody;
    this.#upgrade = upgrade;
    this.upgraded = false;
    this.#stash = undefined;
    this.#trailers = undefined;
    this.#stopped = false;
    this.#closedByInterim = false;
    this.leftover = 0;
    this.keepAlive = false;
    this.keepAliveTimeout = 0;
  }

  /** Stops parsing at once: the handler gave up on the response (from inside a callback). */
  stop(): void {
    this.#stopped = true;
  }

  /** Whether a response is being parsed and is not complete. */
  get busy(): boolean {
    return this.#state !== State.DONE;
  }

  /** Whether the final head has been received. */
  get headReceived(): boolean {
    return this.#state !== State.HEAD && this.#state !== State.DONE;
  }

  /**
   * Feeds bytes from the connection; true once the response is complete (`leftover` then says how
   * many bytes of `chunk` came after it). Throws a `ParseError` on a protocol violation.
   */
  execute(chunk: Buffer): boolean {
    let at = 0;
    const end = chunk.length;
    while (!this.#stopped) {
      switch (this.#state) {
        case State.HEAD: {
          if (at === end) return false;
          // llhttp's reading: after a 1xx that closed the connection, any byte is an error.
          if (this.#closedByInterim) throw new ParseError('HPE_CLOSED_CONNECTION', 'data after an interim response that closed the connection');
          const next = this.#head(chunk, at);
          if (next < 0) return false;
          at = next;
          break;
        }
        case State.FIXED: {
          const available = end - at;
          if (available === 0) return false;
          if (available < this.#remaining) {
            this.#remaining -= available;
            this.#handler.onBody(at === 0 ? chunk : chunk.subarray(at), false);
            return false;
          }
          const body = chunk.subarray(at, at + this.#remaining);
          at += this.#remaining;
          this.#remaining = 0;
          this.#state = State.DONE;
          this.#handler.onBody(body, true);
          return this.#complete(end - at);
        }
        case State.CHUNK_SIZE: {
          const next = this.#chunkSize(chunk, at);
          if (next < 0) return false;
          at = next;
          break;
        }
        case State.CHUNK_DATA: {
          const available = end - at;
          if (available === 0) return false;
          const take = Math.min(available, this.#remaining);
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = State.CHUNK_DATA_END;
          this.#handler.onBody(chunk.subarray(at, at + take), false);
          at += take;
          break;
        }
        case State.CHUNK_DATA_END: {
          // The CRLF after a chunk's data, possibly split over two reads (#remaining counts it).
          if (at === end) return false;
          const expected = this.#remaining === 0 ? 13 : 10;
          if (chunk[at] !== expected) throw new ParseError('HPE_STRICT', 'expected CRLF after chunk data');
          at++;
          if (expected === 13) this.#remaining = 1;
          else {
            this.#remaining = 0;
            this.#state = State.CHUNK_SIZE;
          }
          break;
        }
        case State.TRAILERS: {
          const next = this.#trailerSection(chunk, at);
          if (next < 0) return false;
          at = next;
          this.#state = State.DONE;
          this.#handler.onBody(EMPTY, true);
          return this.#complete(end - at);
        }
        case State.UNTIL_CLOSE:
          if (at < end) this.#handler.onBody(at === 0 ? chunk : chunk.subarray(at), false);
          return false;
        case State.DONE:
          // Bytes nobody asked for: the caller must not reuse the connection.
          this.leftover = end - at;
          return true;
      }
    }
    return false;
  }

  /**
   * The connection ended (EOF). Completes a body delimited by the close; anything else unfinished
   * is an error: `ECONNRESET` before any head byte or mid-body, as Node reports a hang-up.
   */
  finish(): void {
    if (this.#state === State.UNTIL_CLOSE) {
      this.#state = State.DONE;
      this.#handler.onBody(EMPTY, true);
      this.#handler.onComplete(undefined);
      return;
    }
    if (this.#state === State.HEAD && this.#stash !== undefined) {
      // A head cut short: malformed bytes are the target's protocol error, not a hang-up.
      if (!looksLikeStatusLine(this.#stash.toString('latin1', 0, this.#stashed))) throw new ParseError('HPE_INVALID_CONSTANT', 'malformed response head before EOF');
    }
    const error = new ParseError('ECONNRESET', this.headReceived ? 'aborted' : 'socket hang up');
    this.#state = State.DONE;
    throw error;
  }

  #complete(leftover: number): boolean {
    this.leftover = leftover;
    this.#handler.onComplete(this.#trailers);
    return true;
  }

  /**
   * Finds the end of a section (a head, a chunk-size line, a trailer section) that starts at `at`
   * or started in an earlier read. Returns the offset of `terminator` in `#section` (the section
   * runs from `#sectionStart` to it; `#next` is the offset in `chunk` after the terminator), or -1
   * when it is not here yet: the bytes so far are kept in the stash, which holds `limit` bytes plus
   * the terminator. Each byte is copied and searched once, so a section trickled in a byte at a
   * time costs no more than one that came whole.
   */
  #gather(chunk: Buffer, at: number, terminator: Buffer, limit: number, overflowCode = 'HPE_HEADER_OVERFLOW'): number {
    const length = terminator.length;
    let stash = this.#stash;
    if (stash === undefined) {
      const found = chunk.indexOf(terminator, at);
      if (found >= 0) {
        if (found - at > limit) throw overflow(overflowCode);
        this.#section = chunk;
        this.#sectionStart = at;
        this.#next = found + length;
        return found;
      }
      // No terminator yet: the section is at least as long as what came, less a partial terminator.
      const rest = chunk.length - at;
      if (rest - partialEnd(chunk, chunk.length, terminator) > limit) throw overflow(overflowCode);
      stash = this.#stash = Buffer.allocUnsafe(limit + length);
      chunk.copy(stash, 0, at);
      this.#stashed = rest;
      return -1;
    }
    const kept = this.#stashed;
    const take = Math.min(stash.length - kept, chunk.length - at);
    chunk.copy(stash, kept, at, at + take);
    const total = kept + take;
    const found = stash.subarray(0, total).indexOf(terminator, Math.max(0, kept - length + 1));
    if (found < 0) {
      if (total - partialEnd(stash, total, terminator) > limit) throw overflow(overflowCode);
      this.#stashed = total;
      return -1;
    }
    if (found > limit) throw overflow(overflowCode);
    this.#stash = undefined;
    this.#section = stash;
    this.#sectionStart = 0;
    this.#next = at + (found + length - kept);
    return found;
  }

  /**
   * Refuses a bare CR or LF among the bytes stashed since `from` and at the seam before them; a CR
   * last in the stash may be the first half of a CRLF split over two reads.
   */
  #checkStashedLines(from: number): void {
    const stash = this.#stash!;
    const end = this.#stashed;
    for (let i = Math.max(0, from - 1); i < end; i++) {
      const byte = stash[i];
      if ((byte === 13 && i + 1 < end && stash[i + 1] !== 10) || (byte === 10 && (i === 0 || stash[i - 1] !== 13))) {
        throw new ParseError('HPE_LF_EXPECTED', 'bare CR or LF in the response head');
      }
    }
  }

  /** Parses a head that ends in this chunk; -1 when it does not yet. Returns the offset after it. */
  #head(chunk: Buffer, at: number): number {
    const kept = this.#stash === undefined ? 0 : this.#stashed;
    const found = this.#gather(chunk, at, CRLFCRLF, MAX_HEAD_BYTES);
    if (found < 0) {
      // Garbage is refused as it comes, not at the timeout.
      this.#checkStashedLines(kept);
      if (!looksLikeStatusLine(this.#stash!.toString('latin1', 0, Math.min(this.#stashed, 64)))) throw new ParseError('HPE_INVALID_CONSTANT', 'invalid status line');
      return -1;
    }
    this.#onHeadText(this.#section.toString('latin1', this.#sectionStart, found));
    return this.#next;
  }

  #onHeadText(text: string): void {
    if (BARE_LINE_BREAK.test(text)) throw new ParseError('HPE_LF_EXPECTED', 'bare CR or LF in the response head');
    const lineEnd = text.indexOf('\r\n');
    const statusLine = lineEnd < 0 ? text : text.slice(0, lineEnd);
    const match = STATUS_LINE.exec(statusLine);
    if (match === null) throw new ParseError('HPE_INVALID_STATUS', 'invalid status line');
    const reason = match[3] ?? '';
    if (INVALID_TEXT.test(reason)) throw new ParseError('HPE_INVALID_STATUS', 'invalid reason phrase');
    const statusCode = Number(match[2]);
    // RFC 9110 15: 100-599. Anything else is not a status this proxy can relay or count.
    if (statusCode < 100 || statusCode > 599) throw new ParseError('HPE_INVALID_STATUS', 'status code outside 100-599');
    const http10 = match[1] === '0';
    const raw = lineEnd < 0 ? [] : parseFields(text, lineEnd + 2, true);

    // Framing and connection fields (RFC 9112 6.3, 9.3), checked on interim heads too: a peer
    // that reads a 1xx with llhttp refuses the same heads.
    let contentLength = -1;
    let chunked = false;
    let codings = false;
    let close = http10;
    let keepAliveTimeout = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      switch (name.length) {
        case 14:
          if (name.toLowerCase() !== 'content-length') break;
          if (contentLength >= 0 || !DIGITS.test(value)) throw new ParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'invalid or repeated Content-Length');
          contentLength = Number(value);
          break;
        case 17:
          if (name.toLowerCase() !== 'transfer-encoding') break;
          // Every member must be a coding (a token), and `chunked` only ever the last one (RFC
          // 9112 6.1). An empty member is refused although RFC 9110 5.6.1 would skip it: llhttp
          // reads `chunked,` (and a later empty field) as not chunked, so the body would end
          // elsewhere for it. An empty field still counts as Transfer-Encoding next to Content-Length.
          codings = true;
          for (const coding of value.split(',')) {
            const token = coding.trim().toLowerCase();
            if (chunked || !TOKEN.test(token)) throw new ParseError('HPE_INVALID_TRANSFER_ENCODING', 'invalid Transfer-Encoding');
            chunked = token === 'chunked';
          }
          break;
        case 10: {
          const lower = name.toLowerCase();
          if (lower === 'connection') {
            for (const option of value.split(',')) {
              const token = option.trim().toLowerCase();
              if (token === 'close') close = true;
              else if (token === 'keep-alive' && http10) close = false;
            }
          } else if (lower === 'keep-alive') {
            const hint = /(?:^|[,;\s])timeout=([0-9]{1,9})/i.exec(value);
            if (hint !== null) keepAliveTimeout = Number(hint[1]);
          }
          break;
        }
      }
    }
    if (codings && contentLength >= 0) throw new ParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'Content-Length with Transfer-Encoding');

    if (statusCode < 200) {
      if (statusCode === 101) {
        if (!this.#upgrade) throw new ParseError('HPE_UNEXPECTED_UPGRADE', '101 Switching Protocols to a request without Upgrade');
        // RFC 9110 15.2.2: the connection speaks the new protocol right after this head's empty
        // line. It has no body; what follows is not HTTP, so it is left over for whoever takes the
        // connection (execute() returns true and counts it in `leftover`).
        this.#state = State.DONE;
        this.upgraded = true;
        this.keepAlive = false;
        this.#handler.onHead({ statusCode, statusMessage: reason, rawHeaders: raw });
        return;
      }
      // An interim response has no body and its fields are not kept, but `Connection: close` (or
      // HTTP/1.0 without keep-alive) on it ends the connection, as llhttp reads it: what follows
      // is refused, and EOF is a hang-up.
      if (close) this.#closedByInterim = true;
      this.#handler.onInterim();
      return; // stay in HEAD for the final response
    }

    // A HEAD response without framing: a target that does not know HEAD has no body may send one
    // anyway, and it would arrive as the next request's response. Node's client closes such a
    // connection too. (204 and 304 never have a body, so they need no framing.)
    if (this.#noBody && contentLength < 0 && !codings && statusCode !== 204 && statusCode !== 304) close = true;

    this.keepAliveTimeout = keepAliveTimeout;
    if (this.#noBody || statusCode === 204 || statusCode === 304) {
      this.#state = State.FIXED;
      this.#remaining = 0;
    } else if (chunked) {
      this.#state = State.CHUNK_SIZE;
      this.#remaining = 0;
    } else if (codings) {
      // A coding other than chunked last: the body ends with the connection (RFC 9112 6.3 item 4).
      this.#state = State.UNTIL_CLOSE;
      close = true;
    } else if (contentLength >= 0) {
      this.#state = State.FIXED;
      this.#remaining = contentLength;
    } else {
      this.#state = State.UNTIL_CLOSE;
      close = true;
    }
    this.keepAlive = !close;
    this.#handler.onHead({ statusCode, statusMessage: reason, rawHeaders: raw });
    if (this.#state === State.FIXED && this.#remaining === 0 && !this.#stopped) {
      // No body: complete now, whatever follows in the chunk is leftover.
      this.#state = State.DONE;
      this.#handler.onBody(EMPTY, true);
      this.#handler.onComplete(undefined);
    }
  }

  /** Parses one chunk-size line (size, extensions, CRLF); -1 when it is not all here yet. */
  #chunkSize(chunk: Buffer, at: number): number {
    const lineEnd = this.#gather(chunk, at, LF, MAX_CHUNK_LINE, 'HPE_CHUNK_EXTENSIONS_OVERFLOW');
    if (lineEnd < 0) return -1;
    const buffer = this.#section;
    const from = this.#sectionStart;
    if (lineEnd === from || buffer[lineEnd - 1] !== 13) throw new ParseError('HPE_STRICT', 'expected CRLF after chunk size');
    let size = 0;
    let i = from;
    for (; i < lineEnd - 1; i++) {
      const digit = HEX[buffer[i]!]!;
      if (digit < 0) break;
      size = size * 16 + digit;
      if (i - from >= 13) throw new ParseError('HPE_INVALID_CHUNK_SIZE', 'chunk size too large');
    }
    if (i === from) throw new ParseError('HPE_INVALID_CHUNK_SIZE', 'invalid chunk size');
    if (i < lineEnd - 1) {
      // Chunk extensions are ignored, but must be what RFC 9112 7.1.1 allows: parsers that
      // disagree on a chunk-size line are parsers that disagree on where the body ends.
      if (buffer[i] !== 59 /* ; */) throw new ParseError('HPE_INVALID_CHUNK_SIZE', 'invalid chunk size');
      if (!CHUNK_EXTENSIONS.test(buffer.toString('latin1', i, lineEnd - 1))) throw new ParseError('HPE_INVALID_CHUNK_SIZE', 'invalid chunk extension');
    }
    if (size === 0) {
      this.#state = State.TRAILERS;
    } else {
      this.#state = State.CHUNK_DATA;
      this.#remaining = size;
    }
    return this.#next;
  }

  /** Parses the trailer section after the last chunk; -1 when it is not all here yet. */
  #trailerSection(chunk: Buffer, at: number): number {
    // Most often there are none: just the final CRLF.
    if (this.#stash === undefined && chunk.length - at >= 2 && chunk[at] === 13 && chunk[at + 1] === 10) return at + 2;
    const kept = this.#stash === undefined ? 0 : this.#stashed;
    // Searched from the CRLF that ended the last-chunk line, so that an empty section is CRLF CRLF too.
    const found = this.#gatherTrailers(chunk, at);
    if (found < 0) {
      this.#checkStashedLines(kept);
      return -1;
    }
    const text = this.#section.toString('latin1', this.#sectionStart, found);
    if (BARE_LINE_BREAK.test(text)) throw new ParseError('HPE_LF_EXPECTED', 'bare CR or LF in the trailers');
    if (text === '') return this.#next;
    const raw = parseFields(text, 0, false);
    // Framing in a trailer section: the body is intact (chunked framed it), but a target that
    // writes these is confused about framing, and llhttp refuses the response: its connection
    // is not used again. The fields themselves are dropped with the others trailers must not carry.
    for (let i = 0; i < raw.length; i += 2) {
      const lower = raw[i]!.toLowerCase();
      if (lower === 'content-length' || lower === 'transfer-encoding') this.keepAlive = false;
    }
    this.#trailers = forwardableTrailers(raw);
    return this.#next;
  }

  /** #gather for the trailer section, as if the CRLF before it were part of it (an empty one is then CRLF CRLF). */
  #gatherTrailers(chunk: Buffer, at: number): number {
    if (this.#stash === undefined) {
      this.#stash = Buffer.allocUnsafe(MAX_HEAD_BYTES + 6);
      this.#stash[0] = 13;
      this.#stash[1] = 10;
      this.#stashed = 2;
    }
    const found = this.#gather(chunk, at, CRLFCRLF, MAX_HEAD_BYTES + 2);
    if (found >= 0) this.#sectionStart = Math.min(2, found);
    return found;
  }
}


/** A CR not followed by LF, or an LF not preceded by CR. */
const BARE_LINE_BREAK = /\r(?!\n)|(?<!\r)\n/;

/** The start of a status line that may still become a valid one. */
const STATUS_LINE_START = /^HTTP\/1\.[01](?: (?:[0-9]{0,2}|[0-9]{3}(?: [^]*)?))?$/;

/**
 * Whether the first bytes of a head are (the start of) a valid status line: a complete line must
 * match in full; an unfinished one must be a prefix of one (the target may just be slow).
 */
function looksLikeStatusLine(text: string): boolean {
  const lineEnd = text.indexOf('\r');
  if (lineEnd >= 0) return STATUS_LINE.test(text.slice(0, lineEnd));
  if (text.length <= 7) return 'HTTP/1.'.startsWith(text);
  return STATUS_LINE_START.test(text);
}

/**
 * Parses `name: value` lines from `start` to the end of `text` (lines joined by CRLF). Spaces and
 * tabs around a value are not part of it (RFC 9112 5.5 OWS). With `framing` (a head), a tab after
 * a Content-Length or Transfer-Encoding value is refused: llhttp refuses `Content-Length: 5<TAB>`
 * and reads `Transfer-Encoding: chunked<TAB>` as not chunked, so the two would frame the body
 * differently.
 */
function parseFields(text: string, start: number, framing: boolean): string[] {
  const raw: string[] = [];
  let at = start;
  const end = text.length;
  while (at < end) {
    let lineEnd = text.indexOf('\r\n', at);
    if (lineEnd < 0) lineEnd = end;
    const colon = text.indexOf(':', at);
    if (colon < 0 || colon >= lineEnd) throw new ParseError('HPE_INVALID_HEADER_TOKEN', 'header line without a colon');
    const name = text.slice(at, colon);
    // Also refuses obs-fold (a line starting with whitespace) and whitespace before the colon.
    if (!TOKEN.test(name)) throw new ParseError('HPE_INVALID_HEADER_TOKEN', 'invalid header field name');
    let valueStart = colon + 1;
    let valueEnd = lineEnd;
    while (valueStart < valueEnd && isWhitespace(text.charCodeAt(valueStart))) valueStart++;
    while (valueEnd > valueStart && isWhitespace(text.charCodeAt(valueEnd - 1))) valueEnd--;
    if (framing && valueEnd < lineEnd && text.lastIndexOf('\t', lineEnd - 1) >= valueEnd) refuseTrailingTab(name);
    const value = text.slice(valueStart, valueEnd);
    if (INVALID_TEXT.test(value)) throw new ParseError('HPE_INVALID_HEADER_TOKEN', 'invalid character in a header value');
    raw.push(name, value);
    at = lineEnd + 2;
  }
  return raw;
}

function refuseTrailingTab(name: string): void {
  const lower = name.toLowerCase();
  if (lower === 'content-length') throw new ParseError('HPE_INVALID_CONTENT_LENGTH', 'tab after the Content-Length value');
  if (lower === 'transfer-encoding') throw new ParseError('HPE_INVALID_TRANSFER_ENCODING', 'tab after the Transfer-Encoding value');
}

function isWhitespace(code: number): boolean {
  return code === 32 || code === 9;
}

/** Hex digit values by byte; -1 for anything else. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}
