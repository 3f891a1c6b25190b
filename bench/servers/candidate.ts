/**
 * Runs proxy-breaker as users run it: the compiled package (a snapshot of dist/ taken when the
 * bench started), one target, default options. `open` trips at the first failure and stays open
 * for an hour, for the 503 fast path.
 *
 * Usage: node candidate.js <dist/lib/index.js> <target-url> [normal|open]   (prints {"port":N})
 * SIGTERM exits through process.exit(), so `--cpu-prof` gets to write its profile.
 */
import { pathToFileURL } from 'node:url';
import type * as Lib from '../../lib/index.js';

const [entry, target, mode = 'normal'] = process.argv.slice(2);
if (entry === undefined || target === undefined) throw new Error('usage: candidate <dist/lib/index.js> <target-url> [normal|open]');
const lib = (await import(pathToFileURL(entry).href)) as typeof Lib;

const proxy = lib.createProxy(
  mode === 'open' ? { target, breaker: { failureThreshold: 1, resetTimeout: 3_600_000 } } : { target },
);
proxy.on('error', (error) => console.error('proxy error event:', error));
const address = await proxy.listen(0, '127.0.0.1');
console.log(JSON.stringify({ port: address.port }));
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)).resume();
