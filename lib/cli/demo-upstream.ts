/**
 * The upstream `proxy-breaker --demo` proxies to: a small HTTP server that answers, fails with a
 * status, or hangs, on command. Commands are requests to its own `/__demo/` paths, so a newcomer
 * can drive it with curl while the demo keeps running; they are not counted as requests.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** How the demo upstream answers every request outside `/__demo/`. */
export type DemoMode =
  /** 200 with a short text body. */
  | { type: 'ok' }
  /** `status` with a short text body. */
  | { type: 'status'; status: number }
  /** Reads the request and never answers (the proxy's call timeout ends it). */
  | { type: 'hang' };

export interface DemoUpstream {
  /** e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly url: string;
  mode(): DemoMode;
  setMode(mode: DemoMode): void;
  /** Requests received outside `/__demo/`. */
  requests(): number;
  /** Stops listening and ends every connection, hanging requests included. */
  close(): Promise<void>;
}

export const DEMO_CONTROL = '/__demo/';

/** The curl lines the demo prints: one per command the upstream understands. */
export function demoCommands(url: string): Array<{ command: string; what: string }> {
  return [
    { command: `curl -X POST ${url}${DEMO_CONTROL}fail?status=500`, what: 'the upstream fails' },
    { command: `curl -X POST ${url}${DEMO_CONTROL}hang`, what: 'it hangs: timeouts' },
    { command: `curl -X POST ${url}${DEMO_CONTROL}recover`, what: 'it heals' },
    { command: `curl ${url}${DEMO_CONTROL}stats`, what: 'what it received' },
  ];
}

class Upstream implements DemoUpstream {
  url = '';
  readonly #server: Server;
  #mode: DemoMode = { type: 'ok' };
  #requests = 0;

  constructor() {
    this.#server = createServer((req, res) => this.#onRequest(req, res));
  }

  async listen(host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.#server.address() as { port: number };
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  mode(): DemoMode {
    return { ...this.#mode };
  }

  setMode(mode: DemoMode): void {
    if (mode.type === 'status') validStatus(mode.status);
    this.#mode = { ...mode };
  }

  requests(): number {
    return this.#requests;
  }

  close(): Promise<void> {
    if (!this.#server.listening) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections(); // hanging requests would hold close() forever
    return closed;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    req.resume(); // read every body, so no client blocks on a full window
    const url = new URL(req.url ?? '/', 'http://demo');
    if (url.pathname.startsWith(DEMO_CONTROL)) return this.#control(req.method ?? '', url, res);
    this.#requests++;
    const mode = this.#mode;
    if (mode.type === 'ok') return send(res, 200, 'hello from the demo upstream\n');
    if (mode.type === 'status') return send(res, mode.status, `${mode.status} ${STATUS_CODES[mode.status] ?? ''}\n`);
    // hang: no answer; close() ends the connection
  }

  #control(method: string, url: URL, res: ServerResponse): void {
    const command = url.pathname.slice(DEMO_CONTROL.length);
    if (command === 'stats') {
      if (method !== 'GET') return send(res, 405, 'use GET\n', { allow: 'GET' });
      return sendJson(res, { mode: this.#mode, requests: this.#requests });
    }
    if (method !== 'POST') return send(res, 405, 'use POST\n', { allow: 'POST' });
    try {
      if (command === 'fail') this.setMode({ type: 'status', status: Number(url.searchParams.get('status') ?? 500) });
      else if (command === 'hang') this.setMode({ type: 'hang' });
      else if (command === 'recover') this.setMode({ type: 'ok' });
      else return send(res, 404, `unknown command; try ${DEMO_CONTROL}fail?status=500, hang, recover or stats\n`);
    } catch (error) {
      return send(res, 400, `${(error as Error).message}\n`);
    }
    sendJson(res, { mode: this.#mode });
  }
}

/** Final statuses only: a 1xx would be an interim response, not a failure. */
function validStatus(status: number): void {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new RangeError(`Expected \`status\` to be an integer from 200 to 599, received ${status}.`);
  }
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  // RFC 9110 15.3.5 / 15.4.5: 204 and 304 have no content, so no Content-Length either.
  if (status === 204 || status === 304) return void res.writeHead(status, headers).end();
  res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendJson(res: ServerResponse, value: unknown): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Starts the demo upstream on an ephemeral port of `host`, answering `ok`. */
export async function startDemoUpstream(host = '127.0.0.1'): Promise<DemoUpstream> {
  const upstream = new Upstream();
  await upstream.listen(host);
  return upstream;
}
