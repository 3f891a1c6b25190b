/**
 * Runs proxy-breaker as users run it: the compiled package (a snapshot of dist/ taken when the
 * bench started), one target, default options. `open` trips at the first failure and stays open
 * for an hour, for the 503 fast path. `paths:N` and `hosts:N` route through a table of N routes
 * to the same target, the one a bench request takes configured last:
 * - `paths:N`: `/svc0` .. `/svc<N-1>` (a request for `/svc<N-1>/...` takes the last);
 * - `hosts:N`: `svc0.bench.test` .. `svc<N-2>.bench.test`, then `127.0.0.1`, the Host wrk sends.
 *
 * With `cert` and `key` (PEM files) it listens with TLS: HTTPS and h2 by ALPN.
 *
 * Usage: node candidate.js <dist/lib/index.js> <target-url> [normal|open|paths:N|hosts:N] [cert key]   (prints {"port":N})
 * SIGTERM exits through process.exit(), so `--cpu-prof` gets to write its profile.
 */
import { pathToFileURL } from 'node:url';
import type * as Lib from '../../lib/index.js';

const [entry, target, mode = 'normal', cert, key] = process.argv.slice(2);
if (entry === undefined || target === undefined) throw new Error('usage: candidate <dist/lib/index.js> <target-url> [normal|open|paths:N|hosts:N]');
const lib = (await import(pathToFileURL(entry).href)) as typeof Lib;

function options(): Lib.ProxyOptions {
  if (mode === 'normal') return { target };
  if (mode === 'open') return { target, breaker: { failureThreshold: 1, resetTimeout: 3_600_000 } };
  const table = /^(paths|hosts):(\d+)$/.exec(mode);
  if (table === null) throw new Error(`unknown mode ${JSON.stringify(mode)}`);
  const count = Number(table[2]);
  const match = table[1] === 'paths' ? (i: number) => `/svc${i}` : (i: number) => (i === count - 1 ? '127.0.0.1' : `svc${i}.bench.test`);
  return { routes: Array.from({ length: count }, (_, i) => ({ match: match(i), targets: target })) };
}

const proxy = lib.createProxy(options());
proxy.on('error', (error) => console.error('proxy error event:', error));
const { readFileSync } = await import('node:fs');
const tls = cert === undefined || key === undefined ? undefined : { cert: readFileSync(cert), key: readFileSync(key) };
const address = await proxy.listen(0, '127.0.0.1', { tls });
console.log(JSON.stringify({ port: address.port }));
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)).resume();
