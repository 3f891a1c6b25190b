/**
 * Client of the memory step: one request that moves `bytes` at full speed, a GET whose response
 * body is read and dropped, or a POST with Content-Length whose body is written from one reused
 * buffer as fast as the socket takes it. Gives up after `timeoutMs`.
 *
 * Usage: node transfer.js '{"url":"http://127.0.0.1:8080/1g","method":"GET","bytes":1073741824,"timeoutMs":60000}'
 * Prints one line: BENCH_JSON {"status":200,"ms":...,"sent":N,"received":N,"body":"..."} (or "error").
 */
import * as http from 'node:http';

interface Spec {
  url: string;
  method: 'GET' | 'POST';
  bytes: number;
  timeoutMs: number;
}

export interface TransferOutcome {
  status?: number;
  ms: number;
  /** Request body bytes handed to the socket. */
  sent: number;
  /** Response body bytes read. */
  received: number;
  /** The start of a response body, for the sink's {"bytes":N}. */
  body: string;
  error?: string;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const chunk = Buffer.alloc(256 * 1024, 'x');
const startedAt = performance.now();
const outcome: TransferOutcome = { ms: 0, sent: 0, received: 0, body: '' };
let finished = false;

function finish(error?: Error): void {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  outcome.ms = performance.now() - startedAt;
  if (error !== undefined) outcome.error = error.message;
  process.stdout.write(`BENCH_JSON ${JSON.stringify(outcome)}\n`, () => process.exit(0));
}

const headers: http.OutgoingHttpHeaders = spec.method === 'POST' ? { 'content-type': 'application/octet-stream', 'content-length': spec.bytes } : {};
const req = http.request(spec.url, { method: spec.method, headers, agent: false }, (res) => {
  outcome.status = res.statusCode;
  res.on('data', (data: Buffer) => {
    outcome.received += data.length;
    if (outcome.body.length < 200) outcome.body += data.subarray(0, 200).toString('latin1');
  });
  res.on('end', () => finish());
  res.on('error', finish);
  res.on('close', () => {
    if (!res.complete) finish(new Error(`response cut off after ${outcome.received} bytes`));
  });
});
req.on('error', finish);
const timer = setTimeout(() => req.destroy(new Error(`no complete response after ${spec.timeoutMs} ms`)), spec.timeoutMs);

/** Writes the body, waiting for 'drain' whenever the socket is full; stops if the request died. */
function pump(): void {
  while (outcome.sent < spec.bytes) {
    if (req.destroyed) return;
    const size = Math.min(chunk.length, spec.bytes - outcome.sent);
    outcome.sent += size;
    if (!req.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
      req.once('drain', pump);
      return;
    }
  }
  req.end();
}

if (spec.method === 'POST') pump();
else req.end();
