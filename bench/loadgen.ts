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
  name: 'wrk' | 'node';
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

/** wrk unless it is missing or BENCH_LOADGEN=node; `nodeScript` is the compiled fallback. */
export function loadGenerator(nodeScript: string): LoadGenerator {
  if (process.env.BENCH_LOADGEN !== 'node' && has('wrk')) return wrk();
  return node(nodeScript);
}
