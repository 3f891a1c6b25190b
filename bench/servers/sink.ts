/**
 * Upstream of the memory step's 1 GiB upload: reads each request body to the end, keeping only
 * its length, then answers 200 with {"bytes":N}. nginx cannot do this without spooling the body
 * to a temp file or answering before it has read it (see bench/nginx.conf).
 * Prints {"port":N} once listening.
 */
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    const body = JSON.stringify({ bytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
// Node's default requestTimeout (300 s) is already above the bench's 60 s per transfer.
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)).resume();
