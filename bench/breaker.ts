/**
 * Breaker micro-benchmark: nanoseconds per operation of the compiled CircuitBreaker (dist/), each
 * measured over `iterations` sequential operations, `rounds` times in a rotating order, medians.
 * Awaited cases are also given "over bare await": the per-round difference from `await fn()` of the
 * same async function, i.e. what the breaker adds around a call.
 *
 * Usage: node --import tsx bench/breaker.ts [--iterations 1000000] [--rounds 7] [--json]
 *          [--entry dist/lib/index.js]
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as Lib from '../lib/index.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string' },
    rounds: { type: 'string' },
    json: { type: 'boolean' },
    entry: { type: 'string' },
  },
});
const iterations = Number(values.iterations ?? 1_000_000);
const rounds = Number(values.rounds ?? 7);
const entry = values.entry ?? fileURLToPath(new URL('../dist/lib/index.js', import.meta.url));
const { CircuitBreaker } = (await import(pathToFileURL(entry).href)) as typeof Lib;

/** The "same async function" every awaited case runs. */
const fn = async (): Promise<number> => 1;
const boom = async (): Promise<number> => {
  throw new Error('down');
};

const closedWithTimeout = new CircuitBreaker(); // callTimeout: 10 s, the default
const closedNoTimeout = new CircuitBreaker({ callTimeout: Infinity });
const closedForAdmit = new CircuitBreaker();
const closedForPair = new CircuitBreaker();
const open = new CircuitBreaker({ failureThreshold: 1, resetTimeout: 3_600_000 });
await open.call(boom).catch(() => undefined);
if (open.state !== 'OPEN') throw new Error(`expected the breaker to be OPEN, it is ${open.state}`);

interface Case {
  key: string;
  name: string;
  awaited: boolean;
  run(n: number): Promise<number> | number;
}

// Each case writes its own loop on purpose: a shared loop calling the operation through a
// callback would add that call to every measured iteration, the same size as what is measured.
const cases: Case[] = [
  {
    key: 'bare',
    name: 'bare `await fn()`',
    awaited: true,
    async run(n) {
      let s = 0;
      for (let i = 0; i < n; i++) s += await fn();
      return s;
    },
  },
  {
    key: 'callTimeout',
    name: '`call(fn)` closed, callTimeout 10 s (default)',
    awaited: true,
    async run(n) {
      let s = 0;
      for (let i = 0; i < n; i++) s += await closedWithTimeout.call(fn);
      return s;
    },
  },
  {
    key: 'callNoTimeout',
    name: '`call(fn)` closed, callTimeout Infinity',
    awaited: true,
    async run(n) {
      let s = 0;
      for (let i = 0; i < n; i++) s += await closedNoTimeout.call(fn);
      return s;
    },
  },
  {
    key: 'admitAwait',
    name: '`admit()` + `await fn()` + `success()`',
    awaited: true,
    async run(n) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const ticket = closedForAdmit.admit()!;
        s += await fn();
        ticket.success();
      }
      return s;
    },
  },
  {
    key: 'openCall',
    name: 'rejection via `call(fn)` while OPEN (await + catch)',
    awaited: true,
    async run(n) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        try {
          await open.call(fn);
        } catch {
          s++;
        }
      }
      return s;
    },
  },
  {
    key: 'openAdmit',
    name: 'rejection via `admit()` while OPEN (sync)',
    awaited: false,
    run(n) {
      let s = 0;
      for (let i = 0; i < n; i++) if (open.admit() === undefined) s++;
      return s;
    },
  },
  {
    key: 'admitSuccess',
    name: '`admit()` + `success()` pair (sync)',
    awaited: false,
    run(n) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const ticket = closedForPair.admit()!;
        ticket.success();
        s++;
      }
      return s;
    },
  },
];

async function time(c: Case, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  const s = await c.run(n);
  const ns = Number(process.hrtime.bigint() - start) / n;
  if (s !== n) throw new Error(`${c.key}: expected ${n}, got ${s}`);
  return ns;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// Warm-up: let every case get optimised before anything counts.
for (const c of cases) await time(c, Math.max(1000, iterations / 10));

const samples = new Map<string, number[]>(cases.map((c) => [c.key, []]));
const deltas = new Map<string, number[]>(cases.map((c) => [c.key, []]));
for (let r = 0; r < rounds; r++) {
  const order = cases.map((_, i) => cases[(i + r) % cases.length]!);
  const round = new Map<string, number>();
  for (const c of order) round.set(c.key, await time(c, iterations));
  for (const c of cases) {
    samples.get(c.key)!.push(round.get(c.key)!);
    if (c.awaited) deltas.get(c.key)!.push(round.get(c.key)! - round.get('bare')!);
  }
}

export interface BreakerCaseResult {
  key: string;
  name: string;
  ns: number;
  minNs: number;
  overBareNs: number | undefined;
}
export interface BreakerTarget {
  name: string;
  measuredNs: number;
  limitNs: number;
  pass: boolean;
}

const results: BreakerCaseResult[] = cases.map((c) => ({
  key: c.key,
  name: c.name,
  ns: median(samples.get(c.key)!),
  minNs: Math.min(...samples.get(c.key)!),
  overBareNs: c.awaited && c.key !== 'bare' ? median(deltas.get(c.key)!) : undefined,
}));
const by = (key: string): BreakerCaseResult => results.find((r) => r.key === key)!;
const target = (name: string, measuredNs: number, limitNs: number): BreakerTarget => ({ name, measuredNs, limitNs, pass: measuredNs < limitNs });
const targets: BreakerTarget[] = [
  target('admit()+success() pair', by('admitSuccess').ns, 20),
  target('call() with timeout, over bare await', by('callTimeout').overBareNs!, 250),
  target('open rejection via call()', by('openCall').ns, 2000),
  target('open rejection via admit()', by('openAdmit').ns, 60),
];

if (values.json) {
  process.stdout.write(`BENCH_JSON ${JSON.stringify({ iterations, rounds, node: process.version, cases: results, targets })}\n`);
} else {
  const f = (x: number | undefined): string => (x === undefined ? '' : x.toFixed(1));
  console.log(`CircuitBreaker micro-benchmark: ${iterations} iterations x ${rounds} rounds, medians (Node ${process.version})\n`);
  console.log('| operation | ns/op | min ns/op | over bare await |');
  console.log('|---|---:|---:|---:|');
  for (const r of results) console.log(`| ${r.name} | ${f(r.ns)} | ${f(r.minNs)} | ${f(r.overBareNs)} |`);
  console.log('\nTargets:');
  for (const t of targets) console.log(`  ${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${f(t.measuredNs)} ns (target < ${t.limitNs} ns)`);
}
