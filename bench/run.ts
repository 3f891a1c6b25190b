/**
 * `npm run bench`: proxy-breaker against the naive Node proxy and the upstream itself, scenario by
 * scenario, then the 1 GiB memory step and the breaker micro-benchmark; writes
 * bench/results/latest.{json,md}.
 * Settings come from BENCH_* environment variables (bench/README.md).
 */
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { benchEnv, readConfig, type Config } from './config.js';
import { loadGenerator } from './loadgen.js';
import { Gate } from './measure.js';
import { MEMORY_ESTIMATE_S, runMemory, type MemoryResult } from './memory.js';
import { benchDir, build, compileScripts, log, snapshotDist } from './prepare.js';
import { installCleanup, pinSelf, pinning, removeWorkDir, start, stopAll } from './procs.js';
import { checkTargets, summarise, writeReport, type BreakerReport, type Report } from './report.js';
import { SCENARIOS, runScenario, type BenchContext, type ScenarioResult } from './scenarios.js';
import { cpuModel } from './stats.js';
import { startUpstream } from './upstream.js';
import { runWorkers, workersEstimateS, type WorkersResult } from './workers.js';

async function breakerBench(config: Config, script: string, dist: string): Promise<BreakerReport | { error: string }> {
  log(`breaker micro-benchmark (${config.breaker.iterations} iterations x ${config.breaker.rounds} rounds) ...`);
  const child = start('breaker', 'server', process.execPath, [
    script, '--json', '--entry', join(dist, 'lib', 'index.js'), '--iterations', String(config.breaker.iterations), '--rounds', String(config.breaker.rounds),
  ]);
  const guard = setTimeout(() => child.proc.kill('SIGKILL'), 180_000);
  const code = await child.exited;
  clearTimeout(guard);
  const line = /^BENCH_JSON (.+)$/m.exec(child.stdout())?.[1];
  if (line === undefined) return { error: `exited (${code}) without results; see ${child.log}` };
  const report = JSON.parse(line) as BreakerReport;
  for (const c of report.cases) log(`  ${c.name}: ${c.ns.toFixed(1)} ns${c.overBareNs === undefined ? '' : ` (+${c.overBareNs.toFixed(1)} over bare await)`}`);
  return report;
}

async function main(): Promise<void> {
  installCleanup();
  const startedAt = performance.now();
  const config = readConfig();
  pinSelf();
  if (config.build) build();
  const dist = snapshotDist();
  const scripts = compileScripts();
  const generator = loadGenerator(scripts.loadgen);
  const gate = new Gate(config.gate);
  const scenarios = SCENARIOS.filter((s) => config.only === undefined || config.only.has(s.id));
  const memoryStep = config.only === undefined || config.only.has('memory');
  const workersStep = config.only === undefined || config.only.has('workers');
  const runsPerRound = scenarios.reduce((n, s) => n + s.targets.length, 0);
  gate.budget = Math.ceil(runsPerRound * config.pairs * 0.1);
  const estimate = runsPerRound * (config.pairs * (config.seconds + 0.7) + config.warmup + 0.2) + (memoryStep ? MEMORY_ESTIMATE_S : 0) + (workersStep ? workersEstimateS(config.pairs, config.seconds, config.warmup) : 0) + (config.breaker.enabled ? config.breaker.iterations / 1e6 * config.breaker.rounds * 3.5 + 3 : 0);
  log(`proxy-breaker bench: ${scenarios.length} scenarios${memoryStep ? ' + 1 GiB memory step' : ''}${workersStep ? ' + workers step' : ''}, ${config.pairs} rounds x ${config.seconds} s, load generator ${generator.version}, ${pinning.enabled ? 'pinned' : `not pinned (${pinning.why})`}; about ${Math.ceil(estimate / 60)} min`);
  if (generator.name === 'node') log('  wrk not found: using the built-in Node load generator (less precise; apt-get install -y wrk)');

  const upstream = await startUpstream(dist.dir);
  log(`upstream: ${upstream.kind === 'nginx' ? `${upstream.version}, 1 worker` : upstream.version} on ${upstream.url}`);
  const ctx: BenchContext = { config, generator, gate, upstream, dist: dist.dir, scripts, log };
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    log(`\n${scenario.title}`);
    results.push(await runScenario(scenario, ctx));
  }
  let memory: MemoryResult | undefined;
  if (memoryStep) {
    log('\n1 GiB in one request: proxy RSS (memory)');
    memory = await runMemory(ctx, scripts);
  }
  let workers: WorkersResult | undefined;
  if (workersStep) {
    // Last: it unpins the upstream, which the scenarios above keep on the servers' CPU.
    log(`\n--workers 1 vs 2 (CLI, wrk -t2 -c64 unpinned), and the opening under load (workers)`);
    workers = await runWorkers(ctx);
  }
  await upstream.stop();
  const breaker = config.breaker.enabled ? await breakerBench(config, scripts.breaker, dist.dir) : undefined;

  const summaries = results.map(summarise);
  const env = benchEnv();
  const report: Report = {
    date: new Date().toISOString(),
    command: `${env === '' ? '' : `${env} `}npm run bench`,
    machine: { nproc: cpus().length, cpu: cpuModel(), node: process.version, kernel: release() },
    setup: {
      loadGenerator: `${generator.version}, 1 thread${generator.name === 'node' ? ' (fallback: less precise)' : ''}`,
      upstream: upstream.kind === 'nginx' ? `${upstream.version}, 1 worker, access_log off (bench/nginx.conf)` : `${upstream.version} (nginx not installed)`,
      pinning: pinning.enabled ? `taskset: ${pinning.why}` : `not pinned: ${pinning.why}`,
      pairs: config.pairs,
      seconds: config.seconds,
      warmup: config.warmup,
      timeoutS: config.timeoutS,
      gate: config.gate.quietMs === 0 && config.gate.retries === 0
        ? 'gating off (quick mode): runs recorded, none redone'
        : `gated: up to ${config.gate.quietMs} ms wait for a quiet machine, a run redone (up to ${config.gate.retries}x, at most 10% of runs in all) when others used > ${config.gate.maxOutsideCores} cores or a busy loop ran > 1.3x its best`,
      dist: `dist/ snapshot, JS sha256 ${dist.hash}${config.build ? ' (built by the bench)' : ' (BENCH_BUILD=0: not rebuilt)'}`,
      durationS: (performance.now() - startedAt) / 1000,
    },
    gating: { redone: gate.redone, keptNoisy: gate.keptNoisy },
    scenarios: results,
    summaries,
    targets: checkTargets(results, summaries, memory, workers),
    memory,
    workers,
    breaker,
  };
  const files = writeReport(join(benchDir, 'results'), report);
  log(`\n${report.targets.map((t) => `${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${t.measured} (target ${t.wanted})`).join('\n')}`);
  if (breaker !== undefined && 'targets' in breaker) {
    log(breaker.targets.map((t) => `${t.pass ? 'PASS' : 'FAIL'} breaker: ${t.name}: ${t.measuredNs.toFixed(1)} ns (target < ${t.limitNs} ns)`).join('\n'));
  }
  log(`\nwrote ${files.md} and ${files.json} in ${Math.round(report.setup.durationS ?? 0)} s`);
}

try {
  await main();
} finally {
  await stopAll();
  removeWorkDir();
}
