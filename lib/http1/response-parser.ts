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
 * characters in values, no Content-Length next to Transfer-Encoding, no duplicate Content-Length,
 * a bounded head. A violation is an error with an `HPE_*` code, the codes Node uses, so
 * `classify()` maps it the same way.
 */

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
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: ([^]*))?$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value or reason phrase: visible characters, obs-text, SP and HTAB (RFC 9110 5.5). */
const INVALID_TEXT = /[^\t\x20-\x7e\x80-\xff]/;
const DIGITS = /^[0-9]{1,15}$/;

export class ResponseParser {
  /** Bytes of the last chunk given to `execute()` that came after the complete response. */
  leftover = 0;
  /** The connection may carry another request after this response (HTTP/1.1 without `close`). */
  keepAlive = false;
  /** `Keep-Alive: timeout=N` of the response, in seconds; 0 when absent. */
  keepAliveTimeout = 0;

  readonly #handler: ResponseHandler;
  #state = State.DONE;
  #noBody = false;
  /** Head (or trailer section, or chunk-size line) bytes received so far, when split over chunks. */
  #pending: Buffer | undefined = undefined;
  /** Body bytes still expected: of the fixed-length body, or of the current chunk. */
  #remaining = 0;
  #trailers: string[] | undefined = undefined;
  #stopped = false;

  constructor(handler: ResponseHandler) {
    this.#handler = handler;
  }

  /** Gets ready for the response to a new request; `noBody` for a HEAD request. */
  start(noBody: boolean): void {
    this.#state = State.HEAD;
    this.#noBody = noBody;
    this.#pending = undefined;
    this.#trailers = undefined;
    this.#stopped = false;
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
    if (this.#state === State.HEAD && this.#pending !== undefined) {
      // A head cut short: malformed bytes are the target's protocol error, not a hang-up.
      if (!looksLikeStatusLine(this.#pending.toString('latin1', 0, this.#pending.length))) throw new ParseError('HPE_INVALID_CONSTANT', 'malformed response head before EOF');
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

  /** Parses a head that ends in this chunk; -1 when it does not yet. Returns the offset after it. */
  #head(chunk: Buffer, at: number): number {
    let buffer: Buffer;
    let from: number;
    let terminator: number;
    if (this.#pending === undefined) {
      terminator = chunk.indexOf(CRLFCRLF, at);
      if (terminator < 0) {
        this.#keepHead(chunk.subarray(at));
        return -1;
      }
      buffer = chunk;
      from = at;
    } else {
      const pendingLength = this.#pending.length;
      buffer = Buffer.concat([this.#pending, chunk.subarray(at)]);
      terminator = buffer.indexOf(CRLFCRLF, Math.max(0, pendingLength - 3));
      if (terminator < 0) {
        this.#pending = undefined;
        this.#keepHead(buffer);
        return -1;
      }
      this.#pending = undefined;
      from = 0;
      // Offsets below are in `buffer`; map the end back into `chunk`.
      at = at - pendingLength;
    }
    if (terminator - from > MAX_HEAD_BYTES) throw new ParseError('HPE_HEADER_OVERFLOW', 'response head too large');
    const text = buffer.toString('latin1', from, terminator);
    this.#onHeadText(text);
    return at + (terminator + 4 - from);
  }

  /** Keeps the start of a head split over reads; garbage is refused now, not at the timeout. */
  #keepHead(bytes: Buffer): void {
    this.#keep(bytes, MAX_HEAD_BYTES);
    if (!looksLikeStatusLine(bytes.toString('latin1', 0, Math.min(bytes.length, 64)))) throw new ParseError('HPE_INVALID_CONSTANT', 'invalid status line');
  }

  /** Keeps an unfinished section for the next chunk, within `limit` bytes. */
  #keep(bytes: Buffer, limit: number): void {
    if (bytes.length > limit) throw new ParseError('HPE_HEADER_OVERFLOW', 'response head too large');
    // A CR at the very end is the first half of a CRLF split over two reads.
    const checked = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
    if (BARE_LINE_BREAK.test(bytes.toString('latin1', 0, checked))) throw new ParseError('HPE_LF_EXPECTED', 'bare CR or LF in the response head');
    // Copy: the socket may reuse the memory behind a slice.
    this.#pending = Buffer.from(bytes);
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
    const http10 = match[1] === '0';
    const raw = lineEnd < 0 ? [] : parseFields(text, lineEnd + 2);

    if (statusCode >= 100 && statusCode < 200) {
      if (statusCode === 101) throw new ParseError('HPE_UNEXPECTED_UPGRADE', '101 Switching Protocols to a request without Upgrade');
      this.#handler.onInterim();
      return; // stay in HEAD for the final response
    }

    // Framing and connection fields (RFC 9112 6.3, 9.3).
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
          // Every coding must be a token, and `chunked` only ever the last one (RFC 9112 6.1).
          for (const coding of value.split(',')) {
            const token = coding.trim().toLowerCase();
            if (token === '') continue;
            if (chunked || !TOKEN.test(token)) throw new ParseError('HPE_INVALID_TRANSFER_ENCODING', 'invalid Transfer-Encoding');
            codings = true;
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
    let buffer = chunk;
    let from = at;
    if (this.#pending !== undefined) {
      buffer = Buffer.concat([this.#pending, chunk.subarray(at)]);
      from = 0;
    }
    const lineEnd = buffer.indexOf(10 /* \n */, from);
    if (lineEnd < 0) {
      if (buffer.length - from > MAX_CHUNK_LINE) throw new ParseError('HPE_CHUNK_EXTENSIONS_OVERFLOW', 'chunk-size line too long');
      this.#pending = Buffer.from(buffer.subarray(from));
      return -1;
    }
    const consumedInChunk = this.#pending === undefined ? lineEnd + 1 : at + (lineEnd + 1 - this.#pending.length);
    this.#pending = undefined;
    if (lineEnd - from > MAX_CHUNK_LINE) throw new ParseError('HPE_CHUNK_EXTENSIONS_OVERFLOW', 'chunk-size line too long');
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
      // Chunk extensions: `;name[=value]`, ignored, but no control characters.
      if (buffer[i] !== 59 /* ; */) throw new ParseError('HPE_INVALID_CHUNK_SIZE', 'invalid chunk size');
      if (INVALID_TEXT.test(buffer.toString('latin1', i, lineEnd - 1))) throw new ParseError('HPE_INVALID_CHUNK_SIZE', 'invalid chunk extension');
    }
    if (size === 0) {
      this.#state = State.TRAILERS;
    } else {
      this.#state = State.CHUNK_DATA;
      this.#remaining = size;
    }
    return consumedInChunk;
  }

  /** Parses the trailer section after the last chunk; -1 when it is not all here yet. */
  #trailerSection(chunk: Buffer, at: number): number {
    let buffer = chunk;
    let from = at;
    if (this.#pending !== undefined) {
      buffer = Buffer.concat([this.#pending, chunk.subarray(at)]);
      from = 0;
    }
    // No trailers: just the final CRLF.
    if (buffer.length - from >= 2 && buffer[from] === 13 && buffer[from + 1] === 10) {
      const consumed = this.#pending === undefined ? from + 2 : at + (2 - this.#pending.length);
      this.#pending = undefined;
      return consumed;
    }
    const terminator = buffer.indexOf(CRLFCRLF, from);
    if (terminator < 0) {
      const rest = buffer.subarray(from);
      this.#pending = undefined;
      this.#keep(rest, MAX_HEAD_BYTES);
      return -1;
    }
    if (terminator - from > MAX_HEAD_BYTES) throw new ParseError('HPE_HEADER_OVERFLOW', 'trailer section too large');
    const text = buffer.toString('latin1', from, terminator);
    if (BARE_LINE_BREAK.test(text)) throw new ParseError('HPE_LF_EXPECTED', 'bare CR or LF in the trailers');
    this.#trailers = parseFields(text, 0);
    const consumed = this.#pending === undefined ? terminator + 4 : at + (terminator + 4 - this.#pending.length);
    this.#pending = undefined;
    return consumed;
  }
}

const EMPTY = Buffer.alloc(0);

/** A CR not followed by LF, or an LF not preceded by CR. */
const BARE_LINE_BREAK = /\r(?!\n)|(?<!\r)\n/;

function looksLikeStatusLine(text: string): boolean {
  const lineEnd = text.indexOf('\r\n');
  const line = lineEnd < 0 ? text : text.slice(0, lineEnd);
  // A prefix of a valid status line is fine (the target hung up mid-head); anything else is not.
  const prefix = 'HTTP/1.';
  if (line.length <= prefix.length) return prefix.startsWith(line);
  return lineEnd < 0 ? /^HTTP\/1\.[01](?: [0-9]{0,3}(?: [^]*)?)?$/.test(line) : STATUS_LINE.test(line);
}

/** Parses `name: value` lines from `start` to the end of `text` (lines joined by CRLF). */
function parseFields(text: string, start: number): string[] {
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
    const value = text.slice(valueStart, valueEnd);
    if (INVALID_TEXT.test(value)) throw new ParseError('HPE_INVALID_HEADER_TOKEN', 'invalid character in a header value');
    raw.push(name, value);
    at = lineEnd + 2;
  }
  return raw;
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
