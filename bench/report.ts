/**
 * Turns runs into the report: medians per target, medians of per-round ratios (candidate over
 * reference, from runs made next to each other), the 1 GiB memory step, the issue's pass/fail
 * targets, and the files bench/results/latest.json and latest.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MemoryResult, MemoryTarget } from './memory.js';
import type { ScenarioResult, TargetName, Run } from './scenarios.js';
import type { OpeningCheck, WorkersResult } from './workers.js';

export interface TargetSummary {
  target: TargetName;
  runs: number;
  /** Runs the medians are taken from (the clean ones, when at least half are). */
  used: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerReq: number | undefined;
  upstreamCpuUsPerReq: number | undefined;
  /** Highest of the runs used. */
  peakRssMB: number | undefined;
  /** Summed over all runs, noisy ones included. */
  timeouts: number;
  socketErrors: number;
  /** Responses above 399 (all of them, by design, in the OPEN scenario). */
  statusErrors: number;
  noisy: number;
}

export interface Ratios {
  rps: number | undefined;
  cpu: number | undefined;
  p99: number | undefined;
  rss: number | undefined;
  /** Rounds the ratios come from: those where both runs were clean, when at least half were. */
  pairs: number;
  rounds: number;
}

export interface ScenarioSummary {
  id: string;
  title: string;
  targets: TargetSummary[];
  vsNaive: Ratios | undefined;
  vsBase: Ratios | undefined;
  base: 'direct' | 'hello';
  /** The route-table targets over proxy-breaker with one route, when the scenario has them. */
  vsOneRoute: Partial<Record<'paths' | 'hosts', Ratios>>;
}

export interface TargetCheck {
  name: string;
  pass: boolean;
  /** What was measured, as a sentence fragment, e.g. "0.74x naive". */
  measured: string;
  wanted: string;
}

export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const defined = (xs: (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined && Number.isFinite(x));

/** The gate's verdicts: noisy runs are left out when at least half of the runs are clean. */
function preferClean<T>(all: T[], clean: T[]): T[] {
  return clean.length > 0 && clean.length >= all.length / 2 ? clean : all;
}

function summariseTarget(target: TargetName, runs: Run[]): TargetSummary {
  const all = runs.filter((r) => r.target === target);
  const mine = preferClean(all, all.filter((r) => !r.noisy));
  const rss = defined(mine.map((r) => r.peakRssMB));
  return {
    target,
    runs: all.length,
    used: mine.length,
    rps: median(mine.map((r) => r.rps)) ?? 0,
    p50Ms: median(mine.map((r) => r.p50Ms)) ?? 0,
    p99Ms: median(mine.map((r) => r.p99Ms)) ?? 0,
    cpuUsPerReq: median(defined(mine.map((r) => r.cpuUsPerReq))),
    upstreamCpuUsPerReq: median(defined(mine.map((r) => r.upstreamCpuUsPerReq))),
    peakRssMB: rss.length > 0 ? Math.max(...rss) : undefined,
    timeouts: all.reduce((n, r) => n + r.errors.timeout, 0),
    socketErrors: all.reduce((n, r) => n + r.errors.connect + r.errors.read + r.errors.write, 0),
    statusErrors: all.reduce((n, r) => n + r.errors.status, 0),
    noisy: all.filter((r) => r.noisy).length,
  };
}

/** Median over rounds of subject/other, each ratio from the same round. */
function ratios(runs: Run[], other: TargetName, subject: TargetName = 'candidate'): Ratios | undefined {
  const all: [Run, Run][] = [];
  for (const round of new Set(runs.map((r) => r.round))) {
    const c = runs.find((r) => r.round === round && r.target === subject);
    const o = runs.find((r) => r.round === round && r.target === other);
    if (c !== undefined && o !== undefined) all.push([c, o]);
  }
  const used = preferClean(all, all.filter(([c, o]) => !c.noisy && !o.noisy));
  const per = { rps: [] as number[], cpu: [] as number[], p99: [] as number[], rss: [] as number[] };
  for (const [c, o] of used) {
    const push = (list: number[], a: number | undefined, b: number | undefined): void => {
      if (a !== undefined && b !== undefined && b > 0) list.push(a / b);
    };
    push(per.rps, c.rps, o.rps);
    push(per.cpu, c.cpuUsPerReq, o.cpuUsPerReq);
    push(per.p99, c.p99Ms, o.p99Ms);
    push(per.rss, c.peakRssMB, o.peakRssMB);
  }
  if (used.length === 0) return undefined;
  return { rps: median(per.rps), cpu: median(per.cpu), p99: median(per.p99), rss: median(per.rss), pairs: used.length, rounds: all.length };
}

export function summarise(result: ScenarioResult): ScenarioSummary {
  return {
    id: result.id,
    title: result.title,
    base: result.base,
    targets: result.targets.map((t) => summariseTarget(t, result.runs)),
    vsNaive: result.targets.includes('naive') ? ratios(result.runs, 'naive') : undefined,
    vsBase: ratios(result.runs, result.base),
    vsOneRoute: Object.fromEntries(
      (['paths', 'hosts'] as const).filter((t) => result.targets.includes(t)).flatMap((t) => {
        const r = ratios(result.runs, 'candidate', t);
        return r === undefined ? [] : [[t, r]];
      }),
    ),
  };
}

const x = (r: number | undefined): string => (r === undefined ? 'n/a' : `${r.toFixed(2)}x`);

/** The issue's targets, from the summaries and the memory step (a missing scenario fails its targets). */
export function checkTargets(results: ScenarioResult[], summaries: ScenarioSummary[], memory?: MemoryResult, workers?: WorkersResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const find = (id: string): ScenarioSummary | undefined => summaries.find((s) => s.id === id && results.find((r) => r.id === id)?.error === undefined);
  const check = (name: string, value: number | undefined, ok: (v: number) => boolean, measured: (v: number | undefined) => string, wanted: string): void => {
    checks.push({ name, pass: value !== undefined && ok(value), measured: measured(value), wanted });
  };
  const candidate = (s: ScenarioSummary | undefined): TargetSummary | undefined => s?.targets.find((t) => t.target === 'candidate');

  const small = find('small');
  if (small) {
    check('small GET: proxy CPU/request vs naive', small.vsNaive?.cpu, (v) => v <= 0.8, (v) => `${x(v)} naive`, '<= 0.8x');
    check('small GET: req/s vs naive', small.vsNaive?.rps, (v) => v >= 1.25, (v) => `${x(v)} naive`, '>= 1.25x');
    check('small GET: p99 vs naive', small.vsNaive?.p99, (v) => v <= 1, (v) => `${x(v)} naive's`, "<= naive's (1.00x)");
  }
  const open = find('open');
  if (open) check('OPEN circuit: 503 req/s vs hello-world', open.vsBase?.rps, (v) => v >= 0.9, (v) => `${x(v)} hello-world`, '>= 0.9x');
  const download = find('download');
  if (download) {
    check('1 MiB download: proxy CPU/request vs naive', download.vsNaive?.cpu, (v) => v <= 0.8, (v) => `${x(v)} naive`, '<= 0.8x');
  }
  for (const id of ['download', 'upload']) {
    const s = find(id);
    const c = candidate(s);
    if (c) check(`1 MiB ${id}: client timeouts through proxy-breaker`, c.timeouts, (v) => v === 0, (v) => `${v} timeouts in ${c.runs} runs`, '0');
  }
  const c1000 = candidate(find('c1000'));
  if (c1000) check('1000 connections: proxy-breaker peak RSS', c1000.peakRssMB, (v) => v < 150, (v) => `${v?.toFixed(0) ?? 'n/a'} MB`, '< 150 MB');
  const routes = find('routes');
  if (routes) {
    for (const kind of ['paths', 'hosts'] as const) {
      const size = results.find((r) => r.id === 'routes')?.tableSize?.toLocaleString('en-US') ?? 'many';
      const name = `${size} ${kind === 'paths' ? 'path' : 'host'} routes: CPU/request vs one route`;
      check(name, routes.vsOneRoute[kind]?.cpu, (v) => v <= 1.05, (v) => `${x(v)} one route`, '<= 1.05x');
    }
  }
  if (memory) checks.push(...memoryTargets(memory));
  if (workers) checks.push(...workersTargets(workers));
  for (const id of ['small', 'download', 'upload', 'c1000', 'open', 'slow', 'routes']) {
    if (!results.some((r) => r.id === id)) continue;
    if (find(id) === undefined) checks.push({ name: `${id}: scenario ran`, pass: false, measured: results.find((r) => r.id === id)?.error ?? 'failed', wanted: 'no error' });
  }
  return checks;
}

/** 1 GiB through one request, each way: proxy-breaker's RSS growth < 30 MB (naive's for comparison). */
function memoryTargets(memory: MemoryResult): TargetCheck[] {
  const mb = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v.toFixed(1)} MB`);
  return (['download', 'upload'] as const).map((direction) => {
    const name = `1 GiB ${direction}: proxy-breaker RSS growth`;
    const wanted = '< 30 MB';
    const find = (target: MemoryTarget) => memory.transfers.find((t) => t.direction === direction && t.target === target);
    const candidate = find('candidate');
    // A transfer that did not complete says nothing about constant memory.
    if (candidate?.growthMB === undefined || candidate.error !== undefined) {
      return { name, pass: false, measured: `not measured: ${candidate?.error ?? memory.error ?? 'no transfer'}`, wanted };
    }
    const naive = find('naive')?.growthMB;
    return { name, pass: candidate.growthMB < 30, measured: `${mb(candidate.growthMB)}${naive === undefined ? '' : ` (naive proxy ${mb(naive)})`}`, wanted };
  });
}

/** Failures that may reach the upstream: the threshold, plus requests already in flight (at most one per other connection). */
export function openingBound(c: OpeningCheck): number {
  return c.failureThreshold + c.connections - 1;
}

function workersTargets(w: WorkersResult): TargetCheck[] {
  const why = w.unavailable ?? w.error;
  const rps = '--workers 2 vs 1: req/s on the small GET';
  const cpu = '--workers 2 vs 1: CPU/request over all processes';
  const checks: TargetCheck[] = [
    {
      name: rps, pass: why === undefined && w.rpsRatio !== undefined && w.rpsRatio >= 1.4,
      measured: why === undefined ? `${x(w.rpsRatio)} (this machine's ceiling in the same run: ${x(w.ceilingRatio)})` : `not measured: ${why}`, wanted: '>= 1.4x',
    },
    { name: cpu, pass: why === undefined && w.cpuRatio !== undefined && w.cpuRatio <= 1.1, measured: why === undefined ? x(w.cpuRatio) : `not measured: ${why}`, wanted: '<= 1.1x' },
  ];
  const two = w.openings.find((c) => c.workers === 2);
  const name = '--workers 2: failures reaching a failing upstream under full load before the circuit opens';
  if (why !== undefined || two?.upstreamFailures === undefined) {
    checks.push({ name, pass: false, measured: `not measured: ${why ?? two?.error ?? 'no run'}`, wanted: 'failureThreshold + requests in flight' });
  } else {
    const one = w.openings.find((c) => c.workers === 1)?.upstreamFailures;
    checks.push({
      name,
      pass: two.upstreamFailures <= openingBound(two),
      measured: `${two.upstreamFailures} (threshold ${two.failureThreshold}, ${two.upstreamFailures - two.failureThreshold} over it; one process: ${one ?? 'n/a'})`,
      wanted: `<= ${two.failureThreshold} + in flight (at most ${openingBound(two)} with ${two.connections} connections)`,
    });
  }
  return checks;
}

export interface BreakerReport {
  iterations: number;
  rounds: number;
  node: string;
  cases: { key: string; name: string; ns: number; minNs: number; overBareNs?: number }[];
  targets: { name: string; measuredNs: number; limitNs: number; pass: boolean }[];
}

export interface Report {
  date: string;
  command: string;
  machine: { nproc: number; cpu: string; node: string; kernel: string };
  setup: {
    loadGenerator: string;
    upstream: string;
    pinning: string;
    pairs: number;
    seconds: number;
    warmup: number;
    timeoutS: number;
    gate: string;
    dist: string;
    durationS?: number;
  };
  gating: { redone: number; keptNoisy: number };
  scenarios: ScenarioResult[];
  summaries: ScenarioSummary[];
  targets: TargetCheck[];
  /** The 1 GiB memory step; undefined when BENCH_ONLY left it out. */
  memory: MemoryResult | undefined;
  /** The workers step; undefined when BENCH_ONLY left it out. */
  workers?: WorkersResult | undefined;
  breaker: BreakerReport | { error: string } | undefined;
}

const f = (v: number | undefined, digits = 1): string => (v === undefined ? '-' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

const TARGET_LABEL: Record<TargetName, string> = {
  candidate: 'proxy-breaker', naive: 'naive Node proxy', direct: 'upstream direct', hello: 'hello-world server',
  paths: 'proxy-breaker, path route table', hosts: 'proxy-breaker, host route table',
};

/** The scenarios' table: one line per target, ratios on proxy-breaker's line. */
function scenarioTable(report: Report, out: string[]): void {
  out.push('Values are medians over the rounds (peak RSS: the highest); ratios are medians of per-round ratios, proxy-breaker over the other (on a route table\'s line: that proxy-breaker over the one-route proxy-breaker).');
  out.push('Runs the gate flagged noisy are left out of both when at least half of the runs (rounds) are clean; "runs used" says how many counted.');
  out.push('CPU is utime+stime of the server process from /proc/PID/stat per completed request; "upstream CPU" is the upstream\'s share.');
  out.push('');
  out.push('| scenario | target | req/s | p50 ms | p99 ms | CPU us/req | upstream CPU us/req | peak RSS MB | timeouts / socket errors | runs used | vs naive: req/s, CPU, p99 | vs direct (hello): req/s, p99 |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const s of report.summaries) {
    const result = report.scenarios.find((r) => r.id === s.id);
    if (result?.error !== undefined) {
      out.push(`| ${s.title} | FAILED: ${result.error.replaceAll('|', '/')} | | | | | | | | | | |`);
      continue;
    }
    for (const t of s.targets) {
      const isCandidate = t.target === 'candidate';
      const rounds = (r: Ratios): string => (r.pairs < r.rounds ? ` (${r.pairs}/${r.rounds} rounds)` : '');
      const vsNaive = isCandidate && s.vsNaive ? `${x(s.vsNaive.rps)}, ${x(s.vsNaive.cpu)}, ${x(s.vsNaive.p99)}${rounds(s.vsNaive)}` : '';
      const vsBase = isCandidate && s.vsBase ? `${x(s.vsBase.rps)}, ${x(s.vsBase.p99)}${rounds(s.vsBase)}` : '';
      // A route table's line compares it with the one-route proxy-breaker of the same scenario.
      const vsOne = t.target === 'paths' || t.target === 'hosts' ? s.vsOneRoute[t.target] : undefined;
      const vsOther = vsOne === undefined ? vsNaive : `vs one route: ${x(vsOne.rps)}, ${x(vsOne.cpu)}, ${x(vsOne.p99)}${rounds(vsOne)}`;
      const label = t.target === s.base && s.base === 'hello' ? 'hello-world server' : TARGET_LABEL[t.target];
      out.push(
        `| ${s.title} | ${label} | ${f(t.rps, 0)} | ${f(t.p50Ms, 2)} | ${f(t.p99Ms, 2)} | ${f(t.cpuUsPerReq)} | ${f(t.upstreamCpuUsPerReq)} | ${f(t.peakRssMB, 0)} | ${t.timeouts} / ${t.socketErrors} | ${t.used}/${t.runs} | ${vsOther} | ${vsBase} |`,
      );
    }
  }
  out.push('');
}

const MEMORY_LABEL: Record<MemoryTarget, string> = { candidate: 'proxy-breaker', naive: 'naive Node proxy', direct: 'upstream direct' };

/** The workers step: every run, the per-round ratios, and the openings under load. */
function workersSection(w: WorkersResult, out: string[]): void {
  out.push('', '## --workers 1 vs 2 (bench/workers.ts)', '');
  if (w.unavailable !== undefined) {
    out.push(`Not measured: ${w.unavailable}.`);
    return;
  }
  out.push(
    `\`proxy-breaker --target <upstream> --port 0 --workers N\` (the CLI from the dist snapshot), GET ${w.path} from ${w.upstream}; ${w.load}. ` +
      'CPU is utime+stime summed over the process tree (the primary and every worker, read before each run) per completed request. ' +
      'Ratios are --workers 2 over --workers 1 within a round; medians over the clean rounds when at least half are clean.',
    '',
  );
  if (w.error !== undefined) out.push(`Failed: ${w.error}`, '');
  out.push('| round | workers | processes | req/s | p99 ms | CPU us/req | machine busy (cores) | noisy |');
  out.push('|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of w.runs) out.push(`| ${r.round + 1} | ${r.workers} | ${r.processes} | ${f(r.rps, 0)} | ${f(r.p99Ms, 2)} | ${f(r.cpuUsPerReq)} | ${f(r.busyCores, 2)} | ${r.noisy ? 'yes' : ''} |`);
  out.push('', `Per-round ratios (2 over 1), req/s: ${w.rounds.map((r) => x(r.rps)).join(', ') || 'none'}; CPU/request: ${w.rounds.map((r) => x(r.cpu)).join(', ') || 'none'}. Medians: req/s ${x(w.rpsRatio)}, CPU/request ${x(w.cpuRatio)}.`);
  out.push(
    '',
    `The machine's ceiling for the req/s ratio, per round: ${w.rounds.map((r) => x(r.ceiling)).join(', ') || 'none'} (median ${x(w.ceilingRatio)}): ` +
      `its ${w.cores} cores over the cores the --workers 1 run kept busy, wrk and the upstream included. ` +
      'A second worker can only use what the first run left idle, unless requests get cheaper.',
  );
  out.push('', '### Opening under full load', '');
  out.push(
    'The Node fixture upstream, switched to answer 500 while the same wrk load runs through the proxy (`--failure-threshold 5 --reset-timeout 3600000`, so no probe follows). ' +
      '"Reached the upstream" counts the 500s the fixture sent; requests admitted before the opening and still in flight number at most one per other connection.',
    '',
  );
  out.push('| workers | reached the upstream | threshold | bound (threshold + in flight) | at the moment OPEN was read | counted by the breaker | requests reaching the upstream after OPEN was read | OPEN read after ms |');
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of w.openings) {
    if (c.error !== undefined) out.push(`| ${c.workers} | FAILED: ${c.error.replaceAll('|', '/')} | | | | | | |`);
    else out.push(`| ${c.workers} | ${c.upstreamFailures} | ${c.failureThreshold} | ${openingBound(c)} | ${c.upstreamFailuresAtOpen} | ${c.countedFailures} | ${c.reachedAfterOpen} | ${f(c.openedAfterMs, 0)} |`);
  }
  if (w.stderr !== '') out.push('', `proxy-breaker stderr: \`${w.stderr.split('\n').slice(-3).join(' / ').replaceAll('`', "'")}\``);
}

/** The memory step's table: one line per transfer, proxy RSS before, at its peak and after. */
function memorySection(memory: MemoryResult, out: string[]): void {
  out.push('', '## 1 GiB in one request: proxy RSS (bench/memory.ts)', '');
  out.push(
    `Each proxy in a fresh process, warmed up with ${memory.warmup}, then 1 GiB (${memory.bytes.toLocaleString('en-US')} bytes) in one request with Content-Length. ` +
      `Download: ${memory.upstream.download}. Upload: ${memory.upstream.upload}. Client: ${memory.client}; transfers time out after ${memory.timeoutS} s.`,
  );
  out.push(
    `RSS is the proxy's VmRSS (/proc/PID/status) right before the transfer, and the highest of VmRSS sampled every ${memory.sampleMs} ms and VmHWM (reset just before); ` +
      'growth = peak - before; "by half-time" is the growth over the first half of the transfer (about the same when memory stays constant, about half when it grows with the bytes); ' +
      'MB = 1e6 bytes. "upstream direct" is the same transfer without a proxy: the client\'s and upstream\'s ceiling.',
    '',
  );
  if (memory.error !== undefined) out.push(`Failed: ${memory.error}`, '');
  out.push('| transfer | target | RSS before MB | peak RSS MB | growth MB | growth by half-time MB | RSS after MB | time s | MB/s | RSS samples |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of memory.transfers) {
    const failed = t.error === undefined ? '' : ` (FAILED: ${t.error.replaceAll('|', '/')})`;
    out.push(
      `| 1 GiB ${t.direction} | ${MEMORY_LABEL[t.target]}${failed} | ${f(t.baselineMB)} | ${f(t.peakMB)} | ${f(t.growthMB)} | ${f(t.halfTimeGrowthMB)} | ${f(t.afterMB)} | ${f(t.seconds, 2)} | ${f(t.mbPerS, 0)} | ${t.samples ?? '-'} |`,
    );
  }
  if (memory.candidateStderr !== '') out.push('', `proxy-breaker stderr: \`${memory.candidateStderr.split('\n').slice(-3).join(' / ').replaceAll('`', "'")}\``);
}

export function markdown(report: Report): string {
  const { machine, setup } = report;
  const out: string[] = [];
  out.push('# proxy-breaker benchmark', '');
  out.push(`- Date: ${report.date}`);
  out.push(`- Command: \`${report.command}\``);
  out.push(`- Machine: ${machine.nproc} CPUs (${machine.cpu}), Linux ${machine.kernel}, Node ${machine.node}`);
  out.push(`- Load generator: ${setup.loadGenerator}; ${setup.pinning}`);
  out.push(`- Upstream: ${setup.upstream}`);
  out.push(`- proxy-breaker: ${setup.dist}`);
  const whole = setup.durationS === undefined ? '' : `; whole bench ${Math.round(setup.durationS)} s`;
  out.push(
    report.scenarios.length === 0
      ? `- Runs: no scenario selected (BENCH_ONLY)${whole}`
      : `- Runs: ${setup.pairs} rounds x ${setup.seconds} s per target after a ${setup.warmup} s warm-up, order alternating (C N D, D N C, ...); ` +
          `client timeout ${setup.timeoutS} s; ${setup.gate}; ${report.gating.redone} runs redone, ${report.gating.keptNoisy} kept noisy${whole}`,
  );
  out.push('');
  if (report.summaries.length > 0) scenarioTable(report, out);
  out.push('## Targets (from the issue)', '');
  for (const t of report.targets) out.push(`- ${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${t.measured} (target ${t.wanted})`);
  if (report.breaker !== undefined && 'targets' in report.breaker) {
    for (const t of report.breaker.targets) out.push(`- ${t.pass ? 'PASS' : 'FAIL'} breaker: ${t.name}: ${f(t.measuredNs)} ns (target < ${t.limitNs} ns)`);
  }
  if (report.memory !== undefined) memorySection(report.memory, out);
  if (report.workers !== undefined) workersSection(report.workers, out);

  const socketScenarios = report.scenarios.filter((s) => s.sockets.length > 0);
  if (socketScenarios.length > 0) {
    out.push('', '## Upstream sockets after 1 MiB runs', '');
    out.push('TCP sockets from each proxy process to the upstream port (/proc/PID/fd + /proc/net/tcp): right after wrk cut the run off, and once none held queued data (at most 3 s later). Idle keep-alive sockets are expected; sockets still holding data are responses nobody reads (a leak).', '');
    out.push('| scenario | target | max at end of run | max settled | max still holding data | max settle ms |');
    out.push('|---|---|---:|---:|---:|---:|');
    for (const s of socketScenarios) {
      for (const target of ['candidate', 'naive'] as const) {
        const checks = s.sockets.filter((c) => c.target === target);
        if (checks.length === 0) continue;
        const max = (get: (c: (typeof checks)[number]) => number): number => Math.max(...checks.map(get));
        out.push(`| ${s.title} | ${TARGET_LABEL[target]} | ${max((c) => c.atEnd.total)} | ${max((c) => c.settled.total)} | ${max((c) => c.settled.queued)} | ${max((c) => c.settleMs)} |`);
      }
    }
  }

  if (report.scenarios.length > 0) out.push('', '## Health after each scenario', '');
  for (const s of report.scenarios) {
    const bad = s.health.filter((h) => h.status !== (h.target === 'candidate' || s.base !== 'hello' ? s.status : 200));
    out.push(`- ${s.title}: ${s.health.map((h) => `${TARGET_LABEL[h.target]} ${h.status}`).join(', ') || 'not checked'}${bad.length > 0 ? ' (UNEXPECTED)' : ''}`);
    if (s.candidateStderr !== '') out.push(`  - proxy-breaker stderr: \`${s.candidateStderr.split('\n').slice(-3).join(' / ').replaceAll('`', "'")}\``);
  }

  if (report.breaker !== undefined) {
    out.push('', '## Breaker micro-benchmark (bench/breaker.ts)', '');
    if ('error' in report.breaker) out.push(`Failed: ${report.breaker.error}`);
    else {
      const b = report.breaker;
      out.push(`${b.iterations.toLocaleString('en-US')} sequential operations per measurement, ${b.rounds} rounds, medians; on the servers' CPU, with nothing else of the bench running.`, '');
      out.push('| operation | ns/op | min ns/op | over bare await, ns |');
      out.push('|---|---:|---:|---:|');
      for (const c of b.cases) out.push(`| ${c.name} | ${f(c.ns)} | ${f(c.minNs)} | ${f(c.overBareNs)} |`);
    }
  }
  out.push('');
  return out.join('\n');
}

export function writeReport(dir: string, report: Report): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'latest.json');
  const md = join(dir, 'latest.md');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(md, markdown(report));
  return { json, md };
}
