/**
 * The one raw-socket client of the tests: it writes exactly the bytes given (requests that
 * fetch() and http.request() refuse to send), reads until the server closes, and parses what came
 * back by hand.
 */
import * as net from 'node:net';

/** Bound of one raw exchange, ms. */
export const RAW_TIMEOUT = 3_000;

export interface RawResult {
  /** Everything received, as latin1 text. */
  text: string;
  /** The server closed (or reset) the connection within the timeout. */
  closed: boolean;
  /** Milliseconds from connecting to the close (or the timeout). */
  elapsed: number;
}

export interface RawOptions {
  timeout?: number;
  /** Bytes written later, after `delay` ms each. */
  then?: Array<{ delay: number; data: string | Buffer }>;
}

/**
 * Writes `data` on a fresh TCP connection and resolves once the server closes it, or after
 * `timeout` ms (then `closed` is false and the socket is destroyed).
 */
export function raw(port: number, data: string | Buffer, { timeout = RAW_TIMEOUT, then = [] }: RawOptions = {}): Promise<RawResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timers: NodeJS.Timeout[] = [];
    let closed = true;
    socket.on('connect', () => {
      socket.write(data);
      let at = 0;
      for (const step of then) {
        at += step.delay;
        timers.push(setTimeout(() => socket.writable && socket.write(step.data), at));
      }
    });
    timers.push(
      setTimeout(() => {
        closed = false;
        socket.destroy();
      }, timeout),
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const timer of timers) clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed, elapsed: performance.now() - started });
    });
  });
}

export interface RawResponse {
  status: number;
  /** Field names lower-cased; repeated fields joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/** The status and fields of a response head (the text before its blank line). */
export function parseHead(head: string): Omit<RawResponse, 'body'> {
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers };
}

/** Parses the first response head of a raw exchange (and everything after it as the body). */
export function parseRaw(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete response head in ${JSON.stringify(text)}`);
  return { ...parseHead(text.slice(0, end)), body: text.slice(end + 4) };
}

/** Parses every complete response in `text` (Content-Length, chunked, or to the end). */
export function responses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const { status, headers } = parseHead(rest.slice(0, end));
    rest = rest.slice(end + 4);
    let body = '';
    if (status < 200 || status === 204 || status === 304) {
      // no body
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        if (lineEnd === -1) break;
        const size = parseInt(rest.slice(0, lineEnd), 16);
        rest = rest.slice(lineEnd + 2);
        if (size === 0) {
          rest = rest.slice(rest.indexOf('\r\n\r\n') === 0 ? 4 : rest.indexOf('\r\n') + 2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else {
      body = rest;
      rest = '';
    }
    out.push({ status, headers, body });
  }
  return out;
}

/** The one response in `text`; throws when there is not exactly one. */
export function only(text: string): RawResponse {
  const all = responses(text);
  if (all.length !== 1) throw new Error(`expected one response, got ${all.length} in ${JSON.stringify(text.slice(0, 400))}`);
  return all[0]!;
}
