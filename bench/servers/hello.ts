/**
 * A bare Node hello-world server: the ceiling for the proxy's open-circuit 503 path, which also
 * answers without any upstream. Prints {"port":N} once listening.
 */
import { createServer } from 'node:http';

const body = Buffer.from('Hello, World!\n');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)).resume();
