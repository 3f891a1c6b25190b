/**
 * The one HTTP client of the tests: one request, bounded by a timeout so a bug fails a test
 * instead of hanging the run, resolved with the whole response as one `Reply`.
 */
import * as http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  trailers: NodeJS.Dict<string>;
  bytes: Buffer;
  /** The body as UTF-8. */
  text: string;
  /** Milliseconds from sending the request to the end of the response. */
  elapsed: number;
  json(): unknown;
}

export interface RequestOptions {
  method?: string;
  /** An object, or a flat `[name, value, ...]` list to send repeated or unusual fields as written. */
  headers?: http.OutgoingHttpHeaders | string[];
  body?: string | Buffer;
  /** Ms before the request is abandoned with an error. @default 3000 */
  timeout?: number;
  signal?: AbortSignal;
  /** Client agent; by default a fresh connection (nothing outlives the test). */
  agent?: http.Agent;
}

/**
 * One request to a URL, or to `{ port, path }` on 127.0.0.1 with the path sent exactly as
 * written. Rejects on a network error, a response cut off, or after `timeout` ms.
 */
export function request(to: string | URL | { port: number; path: string }, options: RequestOptions = {}): Promise<Reply> {
  const { method = 'GET', headers, body, timeout = 3_000, signal, agent } = options;
  const local = typeof to === 'string' || to instanceof URL ? undefined : to;
  const label = `${method} ${local ? local.path : String(to)}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const settings: http.RequestOptions = { method, headers, agent: agent ?? false, signal };
    const req = local ? http.request({ host: '127.0.0.1', port: local.port, path: local.path, ...settings }) : http.request(to as string | URL, settings);
    const timer = setTimeout(() => req.destroy(new Error(`${label} got no answer within ${timeout} ms`)), timeout);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          trailers: res.trailers,
          bytes,
          text,
          elapsed: performance.now() - started,
          json: () => JSON.parse(text) as unknown,
        });
      });
    });
    req.end(body);
  });
}
