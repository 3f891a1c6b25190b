/**
 * Same-core A/B: two servers share cpu1 at the same time, each loaded by its own wrk on cpu0, and
 * their CPU microseconds per request (/proc) are compared round by round. Runs made one after
 * another see the host at different moments, and a slow stretch of a few seconds moves one of
 * them by 10-30%; here whatever slows the host slows both alike, so the ratio holds still. It
 * answers "which of two costs more per request, and by how much" to within about 2%; req/s,
 * latency and the issue's targets are `npm run bench`'s.
 *
 * Check the method first with an A/A run (`hello hello`): its ratio should read 1.00 +- 0.02.
 *
 * Usage: node --import tsx bench/share.ts <a> <b>, each one of
 *   hello   the bench's hello-world server (bench/servers/hello.ts)
 *   answer  proxy-breaker's 503 sent by a bare server with the proxy's server options
 *           (bench/servers/answer.ts): the answer without the routing and admission before it
 *   open    proxy-breaker with its circuit open: the whole 503 path
 * BENCH_SHARE_ROUNDS (default 8), BENCH_SHARE_SECONDS (5), BENCH_BUILD=0 to skip the build.
 * Writes bench/results/share-<a>-<b>.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGenerator, type LoadResult } from './loadgen.js';
import { benchDir, build, compileScripts, log, snapshotDist } from './prepare.js';
import { freePort, installCleanup, pinning, pinSelf, removeWorkDir, startServer, stopAll, type Child } from './procs.js';
import { median } from './report.js';
import { READY, trip } from './scenarios.js';
import { cpuTicks, ticksToMicros } from './stats.js';

const KINDS = ['hello', 'answer', 'open'] as const;
type Kind = (typeof KINDS)[number];
/** Connections per server: the two together make the bench's 50. */
const CONNECTIONS = 25;

/** A bad argument or setting: one line and exit code 2, no stack. */
class UsageError extends Error {}

function kind(value: string | undefined): Kind {
  if (KINDS.includes(value as Kind)) return value as Kind;
  throw new UsageError(`usage: bench/share.ts <a> <b>, each one of ${KINDS.join(', ')}; got ${JSON.stringify(value)}`);
}

function count(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a whole number >= 1, got ${JSON.stringify(process.env[name])}`);
  return value;
}

interface Side {
  url: string;
  child: Child;
}

async function main(): Promise<void> {
  installCleanup();
  pinSelf();
  const [a, b] = [kind(process.argv[2]), kind(process.argv[3])];
  const rounds = count('BENCH_SHARE_ROUNDS', 8);
  const seconds = count('BENCH_SHARE_SECONDS', 5);
  if (!pinning.enabled) log(`warning: not pinned (${pinning.why}); the two servers may not share one core`);
  if (process.env.BENCH_BUILD !== '0') build();
  const dist = snapshotDist();
  const scripts = compileScripts();
  const generator = loadGenerator(scripts.loadgen);

  const startSide = async (k: Kind, tag: string): Promise<Side> => {
    const args = k === 'hello'
      ? [scripts.hello]
      : k === 'answer'
        ? [scripts.answer, dist.dir]
        : [scripts.candidate, join(dist.dir, 'lib', 'index.js'), `http://127.0.0.1:${await freePort()}`, 'open'];
    const child = await startServer(`${tag}-${k}`, process.execPath, args, READY);
    const url = `http://127.0.0.1:${child.port}/small`;
    if (k === 'open') await trip(url);
    return { url, child };
  };
  const sides = [await startSide(a, 'a'), await startSide(b, 'b')] as const;

  // Both loads at once; which starts first alternates, in case starting first is an advantage.
  const together = async (secs: number, round: number): Promise<LoadResult[]> => {
    const spec = (side: Side) => ({ url: side.url, connections: CONNECTIONS, seconds: secs, method: 'GET' as const, bodyBytes: 0, timeoutS: 2 });
    const [first, second] = round % 2 === 0 ? [0, 1] : [1, 0];
    const runs: Promise<LoadResult>[] = [];
    runs[first] = generator.run(spec(sides[first]!));
    runs[second] = generator.run(spec(sides[second]!));
    return Promise.all(runs);
  };

  log(`same-core A/B: ${a} vs ${b}, ${rounds} rounds of ${seconds} s, ${generator.version} -c${CONNECTIONS} each`);
  await together(1, 0); // warm-up
  const rows: { cpu: [number, number]; rps: [number, number]; ratio: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = sides.map((s) => cpuTicks(s.child.pid) ?? 0);
    const loads = await together(seconds, round);
    const after = sides.map((s) => cpuTicks(s.child.pid) ?? 0);
    const cpu = sides.map((_, i) => ticksToMicros(after[i]! - before[i]!) / Math.max(1, loads[i]!.requests)) as [number, number];
    const rps = loads.map((l) => l.rps) as [number, number];
    rows.push({ cpu, rps, ratio: cpu[1] / cpu[0] });
    log(`  #${round + 1} ${a} ${cpu[0].toFixed(2)} us/req, ${b} ${cpu[1].toFixed(2)} us/req: ${b}/${a} ${(cpu[1] / cpu[0]).toFixed(3)}`);
  }
  const ratios = rows.map((r) => r.ratio);
  const mid = median(ratios)!;

  const out = [
    `# Same-core A/B: ${a} vs ${b}`,
    '',
    `- ${new Date().toISOString()}, Node ${process.version}, dist JS sha256 ${dist.hash}`,
    `- Command: \`node --import tsx bench/share.ts ${a} ${b}\` (bench/share.ts says how it measures)`,
    `- Both servers on cpu1 at once, each loaded by ${generator.version} -t1 -c${CONNECTIONS} on cpu0; ${rounds} rounds of ${seconds} s after a 1 s warm-up`,
    '',
    `| round | ${a} CPU us/req | ${b} CPU us/req | ${a} req/s | ${b} req/s | ${b} / ${a} CPU |`,
    '|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r, i) => `| ${i + 1} | ${r.cpu[0].toFixed(2)} | ${r.cpu[1].toFixed(2)} | ${Math.round(r.rps[0])} | ${Math.round(r.rps[1])} | ${r.ratio.toFixed(3)} |`),
    '',
    `Median ${b} / ${a} CPU per request: **${mid.toFixed(3)}** (rounds ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}).`,
    '',
  ];
  const results = join(benchDir, 'results');
  mkdirSync(results, { recursive: true });
  const file = join(results, `share-${a}-${b}.md`);
  writeFileSync(file, out.join('\n'));
  log(out.join('\n'));
  log(`wrote ${file}`);
}

try {
  await main();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
} finally {
  await stopAll();
  removeWorkDir();
}
