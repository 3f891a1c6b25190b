/**
 * CPU profile of proxy-breaker under the small GET load: runs the proxy child with `--cpu-prof`,
 * loads it with wrk (-c50) for BENCH_PROFILE_SECONDS, stops it (the profile is written on exit),
 * and lists the functions with the most self time. The profiler costs CPU itself, so this is
 * where the time goes, not how much there is: take the figures from `npm run bench`.
 *
 * Usage: node --import tsx bench/profile.ts   (BENCH_PROFILE_SECONDS=10, BENCH_BUILD=0 to skip
 * the build, BENCH_PROFILE_PATH=/1m to profile the 1 MiB download instead, BENCH_PROFILE_OPEN=1
 * to profile the 503 of an open circuit: the target is then a refused port, tripped first)
 * Writes bench/results/profile.md and bench/results/proxy.cpuprofile (open it in Chrome DevTools),
 * or profile-open.md and proxy-open.cpuprofile for the open circuit.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGenerator } from './loadgen.js';
import { benchDir, build, compileScripts, log, snapshotDist } from './prepare.js';
import { freePort, installCleanup, pinSelf, removeWorkDir, startServer, stop, stopAll, workDir } from './procs.js';
import { READY, trip } from './scenarios.js';
import { startUpstream } from './upstream.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  selfPercent: number;
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const lib = /\/dist\/(lib\/.+)$/.exec(url);
  if (lib) return lib[1]!;
  return url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/');
}

function category(url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return '(program): native, outside JS';
  if (/\/dist\/lib\//.test(url)) return 'proxy-breaker (dist/lib)';
  if (url.startsWith('node:')) return 'Node core (node:*)';
  if (url === '') return 'native / builtins';
  return 'other';
}

/** Self time per function (name + location), from the samples; idle excluded from the percentages. */
export function hotFunctions(profile: CpuProfile): { functions: HotFunction[]; categories: [string, number][]; busyMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample: it belongs to the previous sample's node.
  for (let i = 1; i < profile.samples.length; i++) {
    const id = profile.samples[i - 1]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + profile.timeDeltas[i]!);
  }
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const cat = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    const c = category(url, name);
    cat.set(c, (cat.get(c) ?? 0) + us);
    if (c === 'idle') continue;
    busy += us;
    const where = url === '' ? '' : `${shortUrl(url)}:${lineNumber + 1}`;
    const key = `${name} ${where}`;
    const entry = fn.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    fn.set(key, entry);
  }
  const functions = [...fn.values()]
    .sort((a, b) => b.us - a.us)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, selfPercent: (100 * e.us) / busy }));
  const categories = [...cat.entries()].filter(([c]) => c !== 'idle').sort((a, b) => b[1] - a[1]).map(([c, us]): [string, number] => [c, (100 * us) / busy]);
  return { functions, categories, busyMs: busy / 1000 };
}

async function main(): Promise<void> {
  installCleanup();
  pinSelf();
  const seconds = Math.max(1, Math.round(Number(process.env.BENCH_PROFILE_SECONDS ?? 10)));
  if (process.env.BENCH_BUILD !== '0') build();
  const dist = snapshotDist();
  const scripts = compileScripts();
  const generator = loadGenerator(scripts.loadgen);
  const upstream = await startUpstream(dist.dir);
  const path = process.env.BENCH_PROFILE_PATH ?? upstream.paths.small;
  const open = process.env.BENCH_PROFILE_OPEN === '1';
  const profDir = join(workDir, 'prof');
  mkdirSync(profDir, { recursive: true });
  const origin = open ? `http://127.0.0.1:${await freePort()}` : upstream.url;
  const candidate = await startServer('candidate-profile', process.execPath, [
    '--cpu-prof', '--cpu-prof-dir', profDir, scripts.candidate, join(dist.dir, 'lib', 'index.js'), origin, open ? 'open' : 'normal',
  ], READY);
  const url = `http://127.0.0.1:${candidate.port}${path}`;
  if (open) await trip(url);
  const spec = { url, connections: 50, seconds: 1, method: 'GET' as const, bodyBytes: 0, timeoutS: 2 };
  await generator.run(spec); // warm-up, in the profile too but short
  log(`profiling proxy-breaker: ${generator.version} -c50 ${url} for ${seconds} s ...`);
  const load = await generator.run({ ...spec, seconds });
  await stop(candidate);
  await upstream.stop();
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('the proxy wrote no profile');
  const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile;
  const { functions, categories, busyMs } = hotFunctions(profile);

  const out: string[] = [];
  out.push('# proxy-breaker CPU profile', '');
  out.push(`- ${new Date().toISOString()}, Node ${process.version}, dist JS sha256 ${dist.hash}`);
  out.push(`- Load: ${generator.version} -t1 -c50 ${path}${open ? ' (circuit open: the 503)' : ''} for ${seconds} s: ${Math.round(load.rps)} req/s under the profiler (p99 ${load.p99Ms.toFixed(2)} ms)`);
  out.push(`- ${busyMs.toFixed(0)} ms of busy samples; percentages are of busy (non-idle) time`, '');
  out.push('## By category', '', '| category | self % |', '|---|---:|');
  for (const [c, pct] of categories) out.push(`| ${c} | ${pct.toFixed(1)} |`);
  out.push('', '## Top functions by self time', '', '| # | function | where | self ms | self % |', '|---:|---|---|---:|---:|');
  functions.slice(0, 30).forEach((f, i) => out.push(`| ${i + 1} | \`${f.name}\` | ${f.where} | ${f.selfMs.toFixed(1)} | ${f.selfPercent.toFixed(1)} |`));
  const lib = functions.filter((f) => f.where.startsWith('lib/'));
  out.push('', '## proxy-breaker functions (dist/lib) by self time', '', '| function | where | self % |', '|---|---|---:|');
  for (const f of lib.slice(0, 20)) out.push(`| \`${f.name}\` | ${f.where} | ${f.selfPercent.toFixed(2)} |`);
  out.push('');
  const results = join(benchDir, 'results');
  mkdirSync(results, { recursive: true });
  const [md, cpuprofile] = open ? ['profile-open.md', 'proxy-open.cpuprofile'] : ['profile.md', 'proxy.cpuprofile'];
  writeFileSync(join(results, md), out.join('\n'));
  copyFileSync(join(profDir, file), join(results, cpuprofile));
  log(out.join('\n'));
  log(`wrote ${join(results, md)} and ${join(results, cpuprofile)}`);
}

try {
  await main();
} finally {
  await stopAll();
  removeWorkDir();
}
