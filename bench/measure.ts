/**
 * One measured run: load generator against a URL, with the server process's CPU and memory read
 * from /proc around it, gated per BENCHMARKING.md (quiet machine before, little CPU used outside
 * the bench during, no sign of the host slowing us down), and retried when the gate says so.
 */
import type { LoadGenerator, LoadResult, LoadSpec } from './loadgen.js';
import { sleep } from './procs.js';
import { CLK_TCK, busyLoopMs, cpuTicks, memory, resetPeakRss, selfAndReapedTicks, systemCpu, ticksToMicros } from './stats.js';

export interface GateOptions {
  /** Cores used outside the bench (or stolen by the host) above which a run is redone. */
  maxOutsideCores: number;
  /** How long to wait for a quiet machine before each run. */
  quietMs: number;
  /** Redos of a run the gate rejected; the last try is kept, flagged `noisy`. */
  retries: number;
}

export interface Watch {
  /** The server under test (a proxy, or the hello-world server); none when wrk hits the upstream. */
  pid: number | undefined;
  /** More processes of the server under test (a cluster's workers): their CPU adds to `pid`'s. */
  morePids?: number[];
  /** The upstream's serving processes. */
  upstreamPids: number[];
  /** Every process of ours alive during the run, for telling our CPU from anyone else's. */
  ourPids: number[];
}

export interface RunResult extends LoadResult {
  /** Proxy (or hello-world) CPU per completed request, utime+stime. */
  cpuUsPerReq: number | undefined;
  upstreamCpuUsPerReq: number | undefined;
  /** Peak RSS of the server under test during the run, MB (1e6 bytes). */
  peakRssMB: number | undefined;
  /** Cores used by processes outside the bench during the run. */
  outsideCores: number;
  /** Cores kept busy on the whole machine during the run: the bench's processes and any others. */
  busyCores: number;
  stealCores: number;
  busyLoopMs: number;
  tries: number;
  noisy: boolean;
}

interface Snapshot {
  at: number;
  busy: number;
  steal: number;
  self: number;
  pids: Map<number, number>;
}

function snapshot(pids: readonly number[]): Snapshot {
  const { busy, steal } = systemCpu();
  const ticks = new Map<number, number>();
  for (const pid of pids) ticks.set(pid, cpuTicks(pid) ?? 0);
  return { at: performance.now(), busy, steal, self: selfAndReapedTicks(), pids: ticks };
}

function delta(a: Snapshot, b: Snapshot, pid: number): number {
  const after = b.pids.get(pid);
  // A process that exited during the run: its last ticks are lost; count what we saw.
  return after === undefined || after === 0 ? 0 : after - (a.pids.get(pid) ?? 0);
}

/** Cores used outside the bench between two snapshots. */
function outside(a: Snapshot, b: Snapshot, ours: readonly number[]): { outside: number; steal: number; busy: number } {
  const seconds = (b.at - a.at) / 1000;
  let mine = b.self - a.self;
  for (const pid of ours) mine += delta(a, b, pid);
  const cores = (ticks: number): number => ticks / (seconds * CLK_TCK);
  return { outside: cores(b.busy - a.busy - mine), steal: cores(b.steal - a.steal), busy: cores(b.busy - a.busy) };
}

export class Gate {
  #minLoopMs = Infinity;
  readonly options: GateOptions;
  /** Runs redone, and runs kept although the gate never passed them. */
  redone = 0;
  keptNoisy = 0;
  /** Redos left for the whole bench, so that a machine busy for good cannot double its time. */
  budget = Infinity;

  constructor(options: GateOptions) {
    this.options = options;
  }

  /** Waits (up to quietMs) for a 250 ms window in which the machine outside the bench is quiet. */
  async quiet(ours: readonly number[]): Promise<void> {
    const deadline = performance.now() + this.options.quietMs;
    while (performance.now() < deadline) {
      const a = snapshot(ours);
      await sleep(250);
      const o = outside(a, snapshot(ours), ours);
      if (o.outside + o.steal < this.options.maxOutsideCores) return;
    }
  }

  /** Times the busy loop; true when it ran much slower than its best so far. */
  hostSlow(): { ms: number; slow: boolean } {
    const ms = busyLoopMs();
    this.#minLoopMs = Math.min(this.#minLoopMs, ms);
    return { ms, slow: ms > this.#minLoopMs * 1.3 };
  }

  async measure(generator: LoadGenerator, spec: LoadSpec, watch: Watch): Promise<RunResult> {
    for (let tries = 1; ; tries++) {
      await this.quiet(watch.ourPids);
      const result = await this.#once(generator, spec, watch, this.hostSlow());
      const noisy = result.noisy;
      if (!noisy || tries > this.options.retries || this.budget <= 0) {
        if (noisy) this.keptNoisy++;
        return { ...result, tries };
      }
      this.redone++;
      this.budget--;
      await sleep(1000);
    }
  }

  async #once(gen: LoadGenerator, s: LoadSpec, w: Watch, loop: { ms: number; slow: boolean }): Promise<RunResult> {
    const serverPids = w.pid === undefined ? [] : [w.pid, ...(w.morePids ?? [])];
    const tracked = [...new Set([...w.ourPids, ...w.upstreamPids, ...serverPids])];
    const hwmReset = w.pid !== undefined && resetPeakRss(w.pid);
    let sampled = 0;
    const sample = (): void => {
      if (w.pid !== undefined) sampled = Math.max(sampled, memory(w.pid)?.rss ?? 0);
    };
    sample();
    const sampler = setInterval(sample, 200);
    const before = snapshot(tracked);
    let load: LoadResult;
    try {
      load = await gen.run(s);
    } finally {
      clearInterval(sampler);
    }
    const after = snapshot(tracked);
    sample();
    const hwm = hwmReset && w.pid !== undefined ? (memory(w.pid)?.hwm ?? 0) : 0;
    const perReq = (ticks: number): number | undefined => (load.requests > 0 ? ticksToMicros(ticks) / load.requests : undefined);
    const o = outside(before, after, tracked);
    const upstreamTicks = w.upstreamPids.reduce((sum, pid) => sum + delta(before, after, pid), 0);
    const mib = Math.max(sampled, hwm);
    const max = this.options.maxOutsideCores;
    return {
      ...load,
      cpuUsPerReq: w.pid === undefined ? undefined : perReq(serverPids.reduce((sum, pid) => sum + delta(before, after, pid), 0)),
      upstreamCpuUsPerReq: w.upstreamPids.length === 0 ? undefined : perReq(upstreamTicks),
      peakRssMB: w.pid === undefined ? undefined : (mib * 1024 * 1024) / 1e6,
      outsideCores: o.outside,
      busyCores: o.busy,
      stealCores: o.steal,
      busyLoopMs: loop.ms,
      tries: 1,
      noisy: loop.slow || o.outside > max || o.steal > max,
    };
  }
}
