/**
 * proxy-breaker's open-circuit 503 without the proxy: a bare Node server with the proxy's server
 * options that sends the same answer through the same code (`PreparedAnswer.send`). Set beside
 * the proxy with its circuit open (bench/share.ts), it tells the cost of the answer from the cost
 * of the routing and admission that come before it.
 *
 * Usage: node answer.mjs <dist dir>   (prints {"port":N})
 */
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const [dist] = process.argv.slice(2);
if (dist === undefined) throw new Error('usage: answer <dist dir>');
const load = (path: string): Promise<unknown> => import(pathToFileURL(`${dist}/lib/${path}`).href);
const { preparedAnswer } = (await load('proxy/answers.js')) as typeof import('../../lib/proxy/answers.js');
const { SERVER_LIMITS: limits } = (await load('index.js')) as typeof import('../../lib/index.js');

// The candidate's target is a refused port on 127.0.0.1; the body names it, so the same length.
const answer = preparedAnswer(503, 'destination_unavailable', 'http://127.0.0.1:40000');
const server = createServer({
  headersTimeout: limits.headersTimeout,
  requestTimeout: limits.requestTimeout,
  connectionsCheckingInterval: limits.connectionsCheckingInterval,
  keepAliveTimeout: limits.keepAliveTimeout,
  maxHeaderSize: limits.maxHeaderSize,
}, (_req, res) => answer.send(res, 3_600_000));
server.listen({ port: 0, host: '127.0.0.1', backlog: limits.backlog }, () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)).resume();
