/**
 * The reference: the typical naive Node reverse proxy, http.createServer + http.request with a
 * keep-alive agent + pipe, and no circuit breaker. Headers go through as they are.
 * The three lines beyond the naive minimum destroy the upstream exchange when the client leaves
 * before its response is complete (BENCHMARKING.md, 6); without them the reference leaks upstream
 * sockets (paused mid-body, nobody reading) every time wrk cuts a run off.
 *
 * With `cert` and `key` (PEM files) it is the naive TLS proxy: `http2.createSecureServer` with
 * `allowHTTP1`, the same handler, and h2's pseudo-header fields left out (http.request refuses
 * them), `:authority` as Host.
 *
 * Usage: node naive-proxy.js <target-url> [port] [cert key]   (prints {"port":N} once listening)
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';

const target = new URL(process.argv[2] ?? 'http://127.0.0.1:8080');
const agent = new http.Agent({ keepAlive: true });

const [, , , , cert, key] = process.argv;

function headersOf(req: http.IncomingMessage): http.IncomingHttpHeaders {
  if (req.httpVersionMajor !== 2) return req.headers;
  const headers: http.IncomingHttpHeaders = {};
  for (const name in req.headers) if (name.charCodeAt(0) !== 58) headers[name] = req.headers[name];
  headers.host ??= req.headers[':authority'] as string | undefined;
  return headers;
}

const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  const upstream = http.request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: headersOf(req), agent },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    },
  );
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
};

const server =
  cert === undefined || key === undefined
    ? http.createServer(handler)
    : (http2.createSecureServer({ cert: readFileSync(cert), key: readFileSync(key), allowHTTP1: true }, handler as never) as unknown as http.Server);

server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)).resume(); // the bench went away
