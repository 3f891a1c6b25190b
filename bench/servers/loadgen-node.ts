/**
 * Fallback load generator when wrk is not installed: `connections` keep-alive connections, each
 * sending its next request when the last response ended, for `seconds`. Less precise than wrk:
 * Node's HTTP client costs several times more CPU per request than wrk, so on its single core it
 * saturates at a lower rate and fast servers (nginx direct) look slower than they are.
 *
 * Usage: node loadgen-node.js '{"url":"http://127.0.0.1:8080/small","connections":50,"seconds":5,
 *   "method":"GET","bodyBytes":0,"timeoutMs":2000}'
 * Prints one line: BENCH_JSON {...} with the same fields as bench/wrk-report.lua.
 */
import * as http from 'node:http';

interface Spec {
  url: string;
  connections: number;
  seconds: number;
  method: string;
  bodyBytes: number;
  timeoutMs: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const url = new URL(spec.url);
const body = spec.bodyBytes > 0 ? Buffer.alloc(spec.bodyBytes, 'x') : undefined;
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections });
const latencies: number[] = [];
const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
let bytes = 0;
const startedAt = performance.now();
const endAt = startedAt + spec.seconds * 1000;
let running = true;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const headers: http.OutgoingHttpHeaders = body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {};
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: spec.method, headers, agent }, (res) => {
      if ((res.statusCode ?? 0) > 399) errors.status++;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        if (running) latencies.push(performance.now() - t0);
        resolve();
      });
      res.on('error', () => {
        errors.read++;
        resolve();
      });
    });
    req.setTimeout(spec.timeoutMs, () => {
      errors.timeout++;
      req.destroy();
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') errors.connect++;
      else if (req.writableFinished) errors.read++;
      else errors.write++;
      resolve();
    });
    req.end(body);
  });
}

async function loop(): Promise<void> {
  while (performance.now() < endAt) await once();
}

for (let i = 0; i < spec.connections; i++) void loop();
setTimeout(() => {
  running = false;
  const duration = performance.now() - startedAt;
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 1000);
  const out = { requests: sorted.length, duration_us: Math.round(duration * 1000), bytes, ...errors, p50_us: pct(50), p99_us: pct(99) };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(out)}\n`, () => process.exit(0));
}, spec.seconds * 1000);
