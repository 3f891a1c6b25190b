/**
 * `--help` and `--version`. The option lines come from the option tables, so they cannot drift.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionLines } from './options.js';

export function helpText(): string {
  return `Usage:
  proxy-breaker --target URL [--target URL ...] [options]
  proxy-breaker --route MATCH=URL[,URL...] [--route ...] [options]
  proxy-breaker --config FILE [--check]
  proxy-breaker --demo

An HTTP reverse proxy with a circuit breaker in front of every upstream target: after
repeated failures a target's circuit opens and requests get 503 at once (with Retry-After)
instead of waiting on a dead upstream; after a while one probe request tests it again.

Options:
${optionLines()}

Config file (--config FILE, JSON): every option of createProxy() at the top level (routes,
breaker, timeout, failureStatus, retries, maxConcurrent, ...) plus "listen", "admin" and "log".
Flags given with --config override the file's top-level values. SIGHUP reloads the file.
  {
    "listen": { "port": 8080, "host": "127.0.0.1" },
    "routes": [
      { "match": "/api/users", "targets": ["http://127.0.0.1:3001", "http://127.0.0.1:3002"], "stripPrefix": true },
      { "match": "billing.example.com", "targets": "http://127.0.0.1:4000", "timeout": 2000 }
    ],
    "breaker": { "failureThreshold": 5, "resetTimeout": 30000 },
    "failureStatus": "502-504",
    "admin": { "port": 9090, "host": "127.0.0.1", "token": "change-me" },
    "log": { "format": "json", "accessLog": true }
  }

Demo (--demo): starts a built-in upstream, proxies to it, makes it fail and recover while you
watch the circuit open and close, then keeps running with curl commands to try yourself.

Signals: SIGINT/SIGTERM stop accepting and let requests in flight finish (up to 10 s; a second
signal exits at once). SIGHUP reloads --config.

Exit codes: 0 ok, 1 runtime error (e.g. port in use), 2 bad flags or config.

Examples:
  proxy-breaker --demo
  proxy-breaker --target http://127.0.0.1:3000 --port 8080
  proxy-breaker -t http://10.0.0.1:3000 -t http://10.0.0.2:3000 --failure-threshold 3 --reset-timeout 5000
  proxy-breaker --route /api/users=http://127.0.0.1:3001 --route /=http://127.0.0.1:3000 --strip-prefix
  proxy-breaker --config proxy.json --check
  proxy-breaker --config proxy.json --log-format json
`;
}

/** The package's version, from the nearest package.json above this module (lib/ under tsx, dist/lib/ when built). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}
