/**
 * The load generator: wrk when installed (one thread, pinned to cpu0), else the built-in Node
 * generator (bench/servers/loadgen-node.ts), which is simpler and less precise.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { has, start, stop, type Cpu } from './procs.js';

export interface LoadSpec {
  url: string;
  connections: number;
  /** Whole seconds: wrk's -d takes no fractions. */
  seconds: number;
  method: 'GET' | 'POST';
  bodyBytes: number;
  /** A response slower than this counts as a timeout. */
  timeoutS: number;
  /** wrk threads; 1 unless said (the Node generator always uses one). */
  threads?: number;
  /** Where the generator runs; `load` (cpu0) unless said. */
  cpu?: Cpu;
}

export interface LoadErrors {
  connect: number;
  read: number;
  write: number;
  /** Responses with a status above 399 (wrk's definition). */
  status: number;
  timeout: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  bytes: number;
  errors: LoadErrors;
}

export interface LoadGenerator {
  name: 'wrk' | 'node' | 'h2load';
  version: string;
  run(spec: LoadSpec): Promise<LoadResult>;
}

const LUA = fileURLToPath(new URL('./wrk-report.lua', import.meta.url));

interface Summary extends LoadErrors {
  requests: number;
  duration_us: number;
  bytes: number;
  p50_us: number;
  p99_us: number;
}

async function collect(name: string, command: string, args: string[], seconds: number, cpu: Cpu = 'load'): Promise<LoadResult> {
  const child = start(name, cpu, command, args);
  // Bounded: a stuck generator is killed well after its run should have ended.
  const guard = setTimeout(() => void stop(child, 1000), (seconds + 20) * 1000);
  const code = await child.exited;
  clearTimeout(guard);
  const line = /^BENCH_JSON (.+)$/m.exec(child.stdout())?.[1];
  if (line === undefined) throw new Error(`${name} exited (${code}) without a summary; see ${child.log}`);
  const s = JSON.parse(line) as Summary;
  const secs = s.duration_us / 1e6;
  return {
    requests: s.requests,
    seconds: secs,
    rps: secs > 0 ? s.requests / secs : 0,
    p50Ms: s.p50_us / 1000,
    p99Ms: s.p99_us / 1000,
    bytes: s.bytes,
    errors: { connect: s.connect, read: s.read, write: s.write, status: s.status, timeout: s.timeout },
  };
}

function wrk(): LoadGenerator {
  const first = spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split('\n', 1)[0] ?? '';
  const version = `wrk ${first.replace(/^wrk\s*/, '').replace(/\s*Copyright.*$/, '').trim()}`;
  return {
    name: 'wrk',
    version,
    run(spec) {
      const args = [`-t${spec.threads ?? 1}`, `-c${spec.connections}`, `-d${spec.seconds}s`, `--timeout`, `${spec.timeoutS}s`, '--latency', '-s', LUA, spec.url];
      if (spec.method !== 'GET' || spec.bodyBytes > 0) args.push('--', spec.method, String(spec.bodyBytes));
      return collect('wrk', 'wrk', args, spec.seconds, spec.cpu);
    },
  };
}

function node(script: string): LoadGenerator {
  return {
    name: 'node',
    version: `built-in Node load generator (${process.version})`,
    run(spec) {
      const config = { url: spec.url, connections: spec.connections, seconds: spec.seconds, method: spec.method, bodyBytes: spec.bodyBytes, timeoutMs: spec.timeoutS * 1000 };
      return collect('loadgen-node', process.execPath, [script, JSON.stringify(config)], spec.seconds, spec.cpu);
    },
  };
}

/**
 * h2load (nghttp2-client) for the h2 scenario: one thread pinned like wrk, one stream at a time per
 * connection (`-m 1`, as wrk's one request per connection), for `seconds` (`-D`). Its summary has
 * no percentiles; they come from its per-request log (`--log-file`: start, status, microseconds).
 */
export function h2load(): LoadGenerator | undefined {
  if (!has('h2load')) return undefined;
  const version = spawnSync('h2load', ['--version'], { encoding: 'utf8' }).stdout.trim().split('\n', 1)[0] ?? 'h2load';
  return {
    name: 'h2load',
    version,
    async run(spec) {
      const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const dir = mkdtempSync(join(tmpdir(), 'bench-h2load-'));
      const logFile = join(dir, 'requests.log');
      const args = ['-t1', `-c${spec.connections}`, '-m1', `-D${spec.seconds}`, `-T${spec.timeoutS}`, '--log-file', logFile, spec.url];
      const child = start('h2load', 'load', 'h2load', args);
      const guard = setTimeout(() => void stop(child, 1000), (spec.seconds + 20) * 1000);
      const code = await child.exited;
      clearTimeout(guard);
      try {
        const out = child.stdout();
        const done = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
        const finished = /finished in ([\d.]+)(ms|s)/.exec(out);
        const traffic = /traffic: [\d.]+\w* \((\d+)\) total/.exec(out);
        if (done === null || finished === null) throw new Error(`h2load exited (${code}) without a summary; see ${child.log}`);
        const seconds = Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1);
        const lines = readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean);
        const durations = lines.map((line) => Number(line.split('\t')[2])).sort((a, b) => a - b);
        const statusErrors = lines.filter((line) => Number(line.split('\t')[1]) > 399).length;
        const at = (q: number): number => (durations.length === 0 ? 0 : durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]! / 1000);
        const requests = Number(done[1]);
        return {
          requests,
          seconds,
          rps: seconds > 0 ? requests / seconds : 0,
          p50Ms: at(0.5),
          p99Ms: at(0.99),
          bytes: traffic === null ? 0 : Number(traffic[1]),
          errors: { connect: 0, read: Number(done[4]), write: 0, status: statusErrors, timeout: Number(done[5]) },
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** wrk unless it is missing or BENCH_LOADGEN=node; `nodeScript` is the compiled fallback. */
export function loadGenerator(nodeScript: string): LoadGenerator {
  if (process.env.BENCH_LOADGEN !== 'node' && has('wrk')) return wrk();
  return node(nodeScript);
}
