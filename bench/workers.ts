/**
 * The workers step (BENCH_ONLY id `workers`, issue 15): the CLI as users run it,
 * `proxy-breaker --target <upstream> --port 0 --workers N`, with N = 1 and 2 interleaved.
 *
 * - Throughput: the small GET through each, `wrk -t2 -c64` on every CPU (not pinned: the cluster,
 *   wrk and the upstream share the two cores, as they would on a real box), requests/s and CPU
 *   per request summed over the whole process tree (primary and workers).
 * - Opening under load: the Node fixture upstream switched to answer 500 while wrk runs through
 *   the proxy; how many failures reached the upstream before the circuit opened.
 *
 * Until the CLI has `--workers`, the step says so and its targets read "not measured".
 */
import * as http from 'node:http';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { LoadSpec } from './loadgen.js';
import type { RunResult } from './measure.js';
import { root } from './prepare.js';
import { sleep, startServer, stop, unpin, workDir, type Child } from './procs.js';
import { median } from './report.js';
import { stderrOf, type BenchContext } from './scenarios.js';
import { processTree } from './stats.js';
import { startFixture } from './upstream.js';

export const WORKER_COUNTS = [1, 2] as const;
/** The issue's load: wrk with two threads and 64 connections, on any CPU. */
export const WORKERS_LOAD = { threads: 2, connections: 64 } as const;
/** The default `failureThreshold`, given explicitly so that the check does not depend on it. */
const FAILURE_THRESHOLD = 5;
/** Seconds of load before the upstream starts failing, then at most this long for the opening. */
const LOAD_BEFORE_FAIL_MS = 1000;
const OPEN_WAIT_MS = 5000;
const POLL_MS = 5;

export interface WorkersRun extends RunResult {
  round: number;
  workers: number;
  /** Processes the CPU was summed over (1 for a single process, 1 + N for a cluster). */
  processes: number;
}

export interface WorkersRound {
  round: number;
  /** `--workers 2` over `--workers 1`, from the two runs of the round. */
  rps: number | undefined;
  cpu: number | undefined;
  /**
   * The most `--workers 2` could give over `--workers 1` on this machine: its cores over the
   * cores the 1-worker run kept busy (proxy, upstream, wrk and all). A second worker can only use
   * what the first left idle, unless requests get cheaper; see `ceilingRatio`.
   */
  ceiling: number | undefined;
  /** A run of the round was kept although the gate flagged it. */
  noisy: boolean;
}

export interface OpeningCheck {
  workers: number;
  failureThreshold: number;
  connections: number;
  /** 500s the upstream sent, all told: every failure that reached it. */
  upstreamFailures?: number;
  /** The breaker's consecutive failures as the admin API showed them when it first read OPEN. */
  countedFailures?: number;
  /** Upstream failures when the admin API first read OPEN; the rest were in flight then. */
  upstreamFailuresAtOpen?: number;
  /**
   * Requests the upstream received after the admin API first read OPEN: admitted before it and
   * still on their way (none admitted after it: no probe in an hour). Read at the upstream, not
   * from the admin API, whose counts in a cluster are summed from snapshots up to a second old.
   */
  reachedAfterOpen?: number;
  /** From switching the upstream to 500 until the admin API read OPEN. */
  openedAfterMs?: number;
  /** What the client saw during the run. */
  clientRequests?: number;
  clientErrors?: number;
  error?: string;
}

export interface WorkersResult {
  /** Undefined when the step ran; else why it could not (e.g. the CLI has no --workers). */
  unavailable?: string;
  load: string;
  upstream: string;
  path: string;
  runs: WorkersRun[];
  rounds: WorkersRound[];
  /** Medians of the per-round ratios, from the clean rounds when at least half are. */
  rpsRatio?: number;
  cpuRatio?: number;
  /**
   * Median of the rounds' ceilings. The issue's 1.4x assumed the 1-worker proxy's core is the
   * bottleneck with room to spare on the other (~1.6x); a proxy that costs less per request leaves
   * wrk and the upstream more of the box, and the ceiling falls with it.
   */
  ceilingRatio?: number;
  /** Cores of the machine. */
  cores: number;
  openings: OpeningCheck[];
  stderr: string;
  error?: string;
}

/** Rough duration of the step, for the bench's estimate. */
export function workersEstimateS(pairs: number, seconds: number, warmup: number): number {
  return WORKER_COUNTS.length * (pairs * (seconds + 0.7) + warmup) + WORKER_COUNTS.length * (seconds + 6) + 5;
}

/** The CLI's entry, copied beside the dist snapshot so that its `../dist/` import finds the snapshot. */
function cliEntry(): string {
  const dir = join(workDir, 'cli');
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, 'proxy-breaker.mjs');
  copyFileSync(join(root, 'bin', 'proxy-breaker.js'), entry);
  return entry;
}

class NoWorkersFlag extends Error {}

interface Cli {
  child: Child & { port: number };
  url: string;
  admin: string | undefined;
}

const LISTENING = /proxy-breaker listening on http:\/\/[^\s]+:(\d+) /;
const ROUTINE = /proxy-breaker listening on|admin API, metrics and dashboard on|stopped accepting; waiting for|\bstopped$/;
const ADMIN = /admin API, metrics and dashboard on (http:\/\/[^\s]+?)\/?\s/;

/** Starts the CLI on every CPU; throws NoWorkersFlag when this build rejects `--workers`. */
async function startCli(entry: string, name: string, workers: number, args: readonly string[]): Promise<Cli> {
  let child: Child & { port: number };
  try {
    child = await startServer(name, process.execPath, [entry, '--port', '0', '--workers', String(workers), ...args], LISTENING, 20_000, 'any');
  } catch (error) {
    const said = (() => {
      try {
        return readFileSync(join(workDir, `${name}.log`), 'utf8');
      } catch {
        return '';
      }
    })();
    if (/--workers\b.*unknown option|unknown option.*--workers\b/i.test(said)) {
      throw new NoWorkersFlag(`this build of proxy-breaker has no --workers flag (it said: ${said.trim().split('\n')[0]}); the step needs issue 15's cluster code`);
    }
    throw error;
  }
  let admin: string | undefined;
  if (args.includes('--admin-port')) {
    for (let waited = 0; admin === undefined && waited < 5000; waited += 20) {
      admin = ADMIN.exec(child.stdout())?.[1];
      if (admin === undefined) await sleep(20);
    }
    if (admin === undefined) throw new Error(`${name} printed no admin URL (log: ${child.log})`);
  }
  return { child, url: `http://127.0.0.1:${child.port}`, admin };
}

function request(url: string, method: 'GET' | 'POST' = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, timeout: 5000, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function json<T>(url: string, method: 'GET' | 'POST' = 'GET', body?: string): Promise<T> {
  const res = await request(url, method, body);
  if (res.status !== 200) throw new Error(`${method} ${url} answered ${res.status}: ${res.body.slice(0, 200)}`);
  return JSON.parse(res.body) as T;
}

interface TargetView {
  state: string;
  failures: number;
}

interface FixtureStats {
  requests: number;
  byStatus: Record<string, number>;
}

function describeRun(r: WorkersRun): string {
  const n = (v: number | undefined, digits = 1): string => (v === undefined ? '-' : v.toFixed(digits));
  const errors = r.errors.connect + r.errors.read + r.errors.write + r.errors.status;
  return (
    `  workers #${r.round + 1} --workers ${r.workers} ${Math.round(r.rps).toString().padStart(6)} req/s  p99 ${n(r.p99Ms, 2)} ms` +
    `  cpu ${n(r.cpuUsPerReq)} us/req over ${r.processes} processes, machine busy ${r.busyCores.toFixed(2)} cores` +
    (errors + r.errors.timeout > 0 ? `  errors ${errors} timeouts ${r.errors.timeout}` : '') +
    `  [outside ${r.outsideCores.toFixed(2)} cores${r.noisy ? ', NOISY' : ''}${r.tries > 1 ? `, try ${r.tries}` : ''}]`
  );
}

/** Interleaved runs of 1 and 2 workers on the small GET; fills `result.runs`, `rounds` and the ratios. */
async function throughput(ctx: BenchContext, entry: string, result: WorkersResult): Promise<string[]> {
  const { config, generator, gate, upstream } = ctx;
  const clis = new Map<number, Cli>();
  const stderr: string[] = [];
  try {
    for (const workers of WORKER_COUNTS) clis.set(workers, await startCli(entry, `workers-${workers}`, workers, ['--target', upstream.url]));
    // The cluster shares both cores with wrk and the upstream: nothing of this step stays pinned.
    for (const pid of upstream.allPids()) unpin(pid);
    const spec = (workers: number, seconds: number): LoadSpec => ({
      url: clis.get(workers)!.url + upstream.paths.small, connections: WORKERS_LOAD.connections, threads: WORKERS_LOAD.threads, cpu: 'any',
      seconds, method: 'GET', bodyBytes: 0, timeoutS: config.timeoutS,
    });
    if (config.warmup > 0) for (const workers of WORKER_COUNTS) await generator.run(spec(workers, config.warmup));
    for (let round = 0; round < config.pairs; round++) {
      const order = round % 2 === 0 ? WORKER_COUNTS : [...WORKER_COUNTS].reverse();
      for (const workers of order) {
        const cli = clis.get(workers)!;
        // Read before every run: a worker replaced since the last one is counted.
        const tree = processTree(cli.child.pid);
        const ours = [...new Set([...upstream.allPids(), ...[...clis.values()].flatMap((c) => processTree(c.child.pid))])];
        const run = await gate.measure(generator, spec(workers, config.seconds), {
          pid: cli.child.pid, morePids: tree.slice(1), upstreamPids: upstream.servingPids(), ourPids: ours,
        });
        const entryRun: WorkersRun = { round, workers, processes: tree.length, ...run };
        result.runs.push(entryRun);
        ctx.log(describeRun(entryRun));
      }
    }
  } finally {
    for (const [workers, cli] of clis) {
      await stop(cli.child, 12_000);
      const text = await stderrOf(cli.child);
      // The start-up and shutdown lines every run prints are not news.
      const own = text.split('\n').filter((line) => line !== '' && !ROUTINE.test(line)).join('\n');
      if (own !== '') stderr.push(`--workers ${workers}: ${own}`);
    }
  }
  for (let round = 0; round < config.pairs; round++) {
    const one = result.runs.find((r) => r.round === round && r.workers === 1);
    const two = result.runs.find((r) => r.round === round && r.workers === 2);
    if (one === undefined || two === undefined) continue;
    const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
    result.rounds.push({
      round, rps: ratio(two.rps, one.rps), cpu: ratio(two.cpuUsPerReq, one.cpuUsPerReq), ceiling: ratio(result.cores, one.busyCores), noisy: one.noisy || two.noisy,
    });
  }
  const clean = result.rounds.filter((r) => !r.noisy);
  const used = clean.length * 2 >= result.rounds.length ? clean : result.rounds;
  result.rpsRatio = median(used.flatMap((r) => (r.rps === undefined ? [] : [r.rps])));
  result.cpuRatio = median(used.flatMap((r) => (r.cpu === undefined ? [] : [r.cpu])));
  result.ceilingRatio = median(used.flatMap((r) => (r.ceiling === undefined ? [] : [r.ceiling])));
  return stderr;
}

/**
 * Under full load through `--workers N`, switches the fixture to 500 and watches the admin API
 * until the circuit reads OPEN. No probe can follow (an open period of an hour), so every 500
 * the upstream sent was admitted before the opening or after it; those admitted before and
 * still in flight cannot number more than the connections minus the one that tripped it.
 */
async function opening(ctx: BenchContext, entry: string, workers: number, fixture: { url: string; control: string }): Promise<OpeningCheck> {
  const check: OpeningCheck = { workers, failureThreshold: FAILURE_THRESHOLD, connections: WORKERS_LOAD.connections };
  let cli: Cli | undefined;
  try {
    await json(`${fixture.control}/__fixture/reset`, 'POST');
    cli = await startCli(entry, `workers-${workers}-opening`, workers, [
      '--target', fixture.url, '--admin-port', '0', '--failure-threshold', String(FAILURE_THRESHOLD), '--reset-timeout', '3600000', '--failure-status', '500-599',
    ]);
    const view = `${cli.admin}/breakers/${encodeURIComponent(fixture.url)}`;
    const seconds = Math.max(3, ctx.config.seconds);
    const load = ctx.generator.run({
      url: `${cli.url}/bytes/5`, connections: WORKERS_LOAD.connections, threads: WORKERS_LOAD.threads, cpu: 'any',
      seconds, method: 'GET', bodyBytes: 0, timeoutS: ctx.config.timeoutS,
    });
    await sleep(LOAD_BEFORE_FAIL_MS);
    const before = await json<TargetView>(view);
    if (before.state !== 'CLOSED') throw new Error(`the circuit was ${before.state} before the upstream failed`);
    const switched = performance.now();
    await json(`${fixture.control}/__fixture/mode`, 'POST', JSON.stringify({ type: 'status', status: 500 }));
    let open: TargetView | undefined;
    while (open === undefined && performance.now() - switched < OPEN_WAIT_MS) {
      const seen = await json<TargetView>(view);
      if (seen.state === 'OPEN') open = seen;
      else await sleep(POLL_MS);
    }
    if (open === undefined) {
      await load.catch(() => undefined);
      throw new Error(`the circuit did not open within ${OPEN_WAIT_MS} ms of the upstream failing under load`);
    }
    check.openedAfterMs = performance.now() - switched;
    const atOpen = await json<FixtureStats>(`${fixture.control}/__fixture/stats`);
    const done = await load;
    const final = await json<FixtureStats>(`${fixture.control}/__fixture/stats`);
    Object.assign(check, {
      upstreamFailures: final.byStatus['500'] ?? 0,
      countedFailures: open.failures,
      upstreamFailuresAtOpen: atOpen.byStatus['500'] ?? 0,
      reachedAfterOpen: final.requests - atOpen.requests,
      clientRequests: done.requests,
      clientErrors: done.errors.connect + done.errors.read + done.errors.write + done.errors.timeout,
    });
  } catch (error) {
    if (error instanceof NoWorkersFlag) throw error;
    check.error = error instanceof Error ? error.message : String(error);
  } finally {
    if (cli !== undefined) await stop(cli.child, 12_000);
  }
  return check;
}

function describeOpening(c: OpeningCheck): string {
  if (c.error !== undefined) return `  opening --workers ${c.workers}: FAILED: ${c.error}`;
  return (
    `  opening --workers ${c.workers}: ${c.upstreamFailures} failures reached the upstream (threshold ${c.failureThreshold}, ` +
    `${c.upstreamFailuresAtOpen} when OPEN was read ${c.openedAfterMs?.toFixed(0)} ms after the switch); ` +
    `breaker counted ${c.countedFailures}; ${c.reachedAfterOpen} reached the upstream after OPEN was read`
  );
}

export async function runWorkers(ctx: BenchContext): Promise<WorkersResult> {
  const result: WorkersResult = {
    load: `wrk -t${WORKERS_LOAD.threads} -c${WORKERS_LOAD.connections} on every CPU (not pinned), ${ctx.config.seconds} s runs, ${ctx.config.pairs} rounds alternating 1,2 / 2,1 workers`,
    upstream: ctx.upstream.version,
    path: ctx.upstream.paths.small,
    runs: [],
    rounds: [],
    openings: [],
    stderr: '',
    cores: cpus().length,
  };
  const entry = cliEntry();
  let fixture: Child | undefined;
  try {
    const stderr = await throughput(ctx, entry, result);
    const started = await startFixture(ctx.dist);
    fixture = started.child;
    const control = /control: (http:\/\/[^\s)]+)/.exec(started.child.stdout())?.[1];
    if (control === undefined) throw new Error(`the fixture printed no control URL (log: ${started.child.log})`);
    for (const workers of WORKER_COUNTS) {
      const check = await opening(ctx, entry, workers, { url: started.url, control });
      result.openings.push(check);
      ctx.log(describeOpening(check));
    }
    result.stderr = stderr.join('\n');
  } catch (error) {
    if (error instanceof NoWorkersFlag) result.unavailable = error.message;
    else result.error = error instanceof Error ? error.message : String(error);
    ctx.log(`  workers: ${result.unavailable === undefined ? 'FAILED' : 'NOT MEASURED'}: ${result.unavailable ?? result.error}`);
  } finally {
    if (fixture !== undefined) await stop(fixture);
  }
  return result;
}
