/**
 * The reference: the typical naive Node reverse proxy, http.createServer + http.request with a
 * keep-alive agent + pipe, and no circuit breaker. Headers go through as they are.
 * The three lines beyond the naive minimum destroy the upstream exchange when the client leaves
 * before its response is complete (BENCHMARKING.md, 6); without them the reference leaks upstream
 * sockets (paused mid-body, nobody reading) every time wrk cuts a run off.
 *
 * Usage: node naive-proxy.js <target-url> [port]   (prints {"port":N} once listening)
 */
import * as http from 'node:http';

const target = new URL(process.argv[2] ?? 'http://127.0.0.1:8080');
const agent = new http.Agent({ keepAlive: true });

const server = http.createServer((req, res) => {
  const upstream = http.request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
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
});

server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)).resume(); // the bench went away
