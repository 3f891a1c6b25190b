/**
 * The memory step (BENCH_ONLY id `memory`): 1 GiB through ONE request, as a download and as an
 * upload, through proxy-breaker and through the naive proxy, each in a fresh process. The proxy's
 * VmRSS is sampled every 20 ms during the transfer and compared with its RSS right before it,
 * after a short warm-up. The issue's target: 1 GiB raises proxy-breaker's RSS by less than 30 MB.
 * A direct transfer per direction shows what the client and the upstream manage without a proxy.
 */
import * as http from 'node:http';
import { start, startServer, stop, type Child } from './procs.js';
import { READY, startProxy, stderrOf, type BenchContext } from './scenarios.js';
import type { TransferOutcome } from './servers/transfer.js';
import { memory, resetPeakRss } from './stats.js';
import { GiB } from './upstream.js';

export type Direction = 'download' | 'upload';
export type MemoryTarget = 'candidate' | 'naive' | 'direct';

export interface MemoryScripts {
  sink: string;
  transfer: string;
}

export interface Transfer {
  direction: Direction;
  target: MemoryTarget;
  /** Body bytes that arrived: read by the client (download) or counted by the sink (upload). */
  bytes: number;
  status: number | undefined;
  seconds: number;
  /** MB (1e6 bytes) per second of `bytes`. */
  mbPerS: number | undefined;
  /** Proxy RSS (MB) right before the transfer, after the warm-up. Proxy figures: none for direct. */
  baselineMB?: number;
  /** Highest of the sampled VmRSS and of VmHWM (reset right before the transfer when allowed). */
  peakMB?: number;
  growthMB?: number;
  /** Growth by half-time: about `growthMB` when memory is constant, about half of it when it grows with the bytes. */
  halfTimeGrowthMB?: number;
  /** Highest sampled VmRSS alone, to see what VmHWM added between samples. */
  sampledPeakMB?: number;
  /** RSS right after the transfer ended. */
  afterMB?: number;
  samples?: number;
  /** [ms since the client started, VmRSS MB], every sample. */
  rssSeries?: [number, number][];
  hwmReset?: boolean;
  error?: string;
}

export interface MemoryResult {
  bytes: number;
  upstream: Record<Direction, string>;
  client: string;
  warmup: string;
  sampleMs: number;
  timeoutS: number;
  transfers: Transfer[];
  /** What proxy-breaker wrote to stderr during the step, if anything. */
  candidateStderr: string;
  error?: string;
}

const MiB = 1024 * 1024;
const SAMPLE_MS = 20;
const TIMEOUT_MS = 60_000;
const WARMUP_REQUESTS = 5;
const DIRECTIONS: readonly Direction[] = ['download', 'upload'];
const TARGETS: readonly MemoryTarget[] = ['candidate', 'naive', 'direct'];
const MB_PER_MIB = MiB / 1e6;

/** Rough duration of the step, for the bench's estimate: seven transfers, proxy starts, quiet waits. */
export const MEMORY_ESTIMATE_S = 20;

/** One request with a 1 MiB body in `method`'s direction; resolves to the status or the error. */
function oneMiB(url: string, method: 'GET' | 'POST'): Promise<number | string> {
  const body = method === 'POST' ? Buffer.alloc(MiB, 'x') : undefined;
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {};
    const req = http.request(url, { method, headers, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', (error) => resolve(error.message));
    });
    req.on('timeout', () => req.destroy(new Error('warm-up request timed out')));
    req.on('error', (error) => resolve(error.message));
    req.end(body);
  });
}

/** VmRSS of `pid` (MiB) every SAMPLE_MS until stopped, as [ms since start, MiB]. */
function sampleRss(pid: number): { stop(): [number, number][] } {
  const series: [number, number][] = [];
  const startedAt = performance.now();
  const sample = (): void => {
    const rss = memory(pid)?.rss;
    if (rss !== undefined) series.push([performance.now() - startedAt, rss]);
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return series;
    },
  };
}

const highest = (series: [number, number][]): number => series.reduce((max, [, rss]) => Math.max(max, rss), 0);

/** Runs the transfer client (pinned beside the load generator) and returns what it reported. */
async function runClient(name: string, script: string, url: string, method: 'GET' | 'POST'): Promise<TransferOutcome> {
  const child = start(name, 'load', process.execPath, [script, JSON.stringify({ url, method, bytes: GiB, timeoutMs: TIMEOUT_MS })]);
  // The client gives up on its own at TIMEOUT_MS; this only catches a client that hangs.
  const guard = setTimeout(() => void stop(child, 1000), TIMEOUT_MS + 10_000);
  const code = await child.exited;
  clearTimeout(guard);
  const line = /^BENCH_JSON (.+)$/m.exec(child.stdout())?.[1];
  if (line === undefined) return { ms: 0, sent: 0, received: 0, body: '', error: `client exited (${code}) without a result; see ${child.log}` };
  return JSON.parse(line) as TransferOutcome;
}

/** Body bytes that arrived at the far end: the sink's count for an upload. */
function arrived(direction: Direction, outcome: TransferOutcome): number {
  if (direction === 'download') return outcome.received;
  try {
    return (JSON.parse(outcome.body) as { bytes?: number }).bytes ?? 0;
  } catch {
    return 0;
  }
}

async function transfer(scripts: MemoryScripts, direction: Direction, target: MemoryTarget, url: string, pid: number | undefined): Promise<Transfer> {
  const method = direction === 'download' ? 'GET' : 'POST';
  const baseline = pid === undefined ? undefined : memory(pid)?.rss;
  const hwmReset = pid !== undefined && resetPeakRss(pid);
  const sampler = pid === undefined ? undefined : sampleRss(pid);
  const outcome = await runClient(`transfer-${direction}-${target}`, scripts.transfer, url, method);
  const sampled = sampler?.stop();
  const after = pid === undefined ? undefined : memory(pid);

  const bytes = arrived(direction, outcome);
  const seconds = outcome.ms / 1000;
  const result: Transfer = { direction, target, bytes, status: outcome.status, seconds, mbPerS: seconds > 0 ? bytes / 1e6 / seconds : undefined };
  if (pid !== undefined && baseline !== undefined && sampled !== undefined && after !== undefined) {
    const peak = Math.max(highest(sampled), hwmReset ? after.hwm : 0);
    const end = sampled.at(-1)?.[0] ?? 0;
    const firstHalf = sampled.filter(([ms]) => ms <= end / 2);
    Object.assign(result, {
      baselineMB: baseline * MB_PER_MIB,
      peakMB: peak * MB_PER_MIB,
      growthMB: (peak - baseline) * MB_PER_MIB,
      halfTimeGrowthMB: (highest(firstHalf) - baseline) * MB_PER_MIB,
      sampledPeakMB: highest(sampled) * MB_PER_MIB,
      afterMB: after.rss * MB_PER_MIB,
      samples: sampled.length,
      rssSeries: sampled.map(([ms, rss]): [number, number] => [Math.round(ms), Math.round(rss * MB_PER_MIB * 10) / 10]),
      hwmReset,
    });
  }
  const problem = outcome.error ?? (outcome.status !== 200 ? `status ${outcome.status}` : bytes !== GiB ? `${bytes} of ${GiB} bytes arrived` : undefined);
  if (problem !== undefined) result.error = problem;
  return result;
}

function describe(t: Transfer): string {
  const n = (v: number | undefined, digits = 1): string => (v === undefined ? '-' : v.toFixed(digits));
  const rss = t.growthMB === undefined ? '' : `  RSS ${n(t.baselineMB)} -> peak ${n(t.peakMB)} MB (+${n(t.growthMB)} MB, +${n(t.halfTimeGrowthMB)} by half-time), after ${n(t.afterMB)} MB, ${t.samples} samples`;
  return `  ${t.direction.padEnd(8)} ${t.target.padEnd(9)} ${n(t.seconds, 2)} s  ${n(t.mbPerS, 0)} MB/s${rss}${t.error === undefined ? '' : `  FAILED: ${t.error}`}`;
}

/** One proxy (or none, for direct) in a fresh process: start, warm up, wait for quiet, transfer. */
async function measure(ctx: BenchContext, scripts: MemoryScripts, direction: Direction, target: MemoryTarget, origin: string, ourPids: number[]): Promise<{ transfer: Transfer; stderr: string }> {
  const { upstream } = ctx;
  const path = direction === 'download' ? upstream.paths.gib : '/upload';
  if (target === 'direct') {
    await ctx.gate.quiet(ourPids);
    return { transfer: await transfer(scripts, direction, target, origin + path, undefined), stderr: '' };
  }
  let proxy: Child | undefined;
  try {
    const started = await startProxy(target, `memory-${direction}`, ctx, origin);
    proxy = started;
    const base = `http://127.0.0.1:${started.port}`;
    const warmPath = direction === 'download' ? upstream.paths.download : '/upload';
    for (let i = 0; i < WARMUP_REQUESTS; i++) {
      const status = await oneMiB(base + warmPath, direction === 'download' ? 'GET' : 'POST');
      if (status !== 200) throw new Error(`warm-up request answered ${status}`);
    }
    await ctx.gate.quiet([...ourPids, started.pid]);
    const result = await transfer(scripts, direction, target, base + path, started.pid);
    return { transfer: result, stderr: target === 'candidate' ? await stderrOf(started) : '' };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { transfer: { direction, target, bytes: 0, status: undefined, seconds: 0, mbPerS: undefined, error: message }, stderr: '' };
  } finally {
    if (proxy !== undefined) await stop(proxy);
  }
}

export async function runMemory(ctx: BenchContext, scripts: MemoryScripts): Promise<MemoryResult> {
  const { upstream } = ctx;
  const result: MemoryResult = {
    bytes: GiB,
    upstream: {
      download: upstream.kind === 'nginx' ? `${upstream.version}, ${upstream.paths.gib} (a sparse file)` : `${upstream.version}, ${upstream.paths.gib}`,
      upload: `bench/servers/sink.ts on Node ${process.version} (reads the body to its end, then answers 200)`,
    },
    client: `bench/servers/transfer.ts on Node ${process.version}, 1 connection, on the load generator's CPU`,
    warmup: `${WARMUP_REQUESTS} x 1 MiB requests in the same direction (and one uncounted direct 1 GiB download before all${upstream.kind === 'nginx' ? ', for the page cache' : ''})`,
    sampleMs: SAMPLE_MS,
    timeoutS: TIMEOUT_MS / 1000,
    transfers: [],
    candidateStderr: '',
  };
  let sink: Child | undefined;
  try {
    const started = await startServer('sink', process.execPath, [scripts.sink], READY);
    sink = started;
    const origins: Record<Direction, string> = { download: upstream.url, upload: `http://127.0.0.1:${started.port}` };
    const ourPids = [...upstream.allPids(), started.pid];
    // Uncounted: nginx's first read of the sparse file zero-fills 1 GiB of page cache, which
    // halved the speed of whichever transfer came first.
    const warm = await runClient('transfer-warm-cache', scripts.transfer, upstream.url + upstream.paths.gib, 'GET');
    if (warm.error !== undefined || warm.received !== GiB) throw new Error(`direct 1 GiB download failed: ${warm.error ?? `${warm.received} bytes`}`);
    for (const direction of DIRECTIONS) {
      for (const target of TARGETS) {
        const { transfer: t, stderr } = await measure(ctx, scripts, direction, target, origins[direction], ourPids);
        result.transfers.push(t);
        if (stderr !== '') result.candidateStderr += `${stderr}\n`;
        ctx.log(describe(t));
      }
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    ctx.log(`  memory: FAILED: ${result.error}`);
  } finally {
    if (sink !== undefined) await stop(sink);
  }
  result.candidateStderr = result.candidateStderr.trim();
  return result;
}
