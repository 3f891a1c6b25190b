/** The bench's settings, from environment variables (documented in bench/README.md). */
import type { GateOptions } from './measure.js';

export interface Config {
  quick: boolean;
  /**
   * Rounds of interleaved runs (candidate, reference, baseline; then the reverse order). The
   * default follows BENCHMARKING.md (3: at least 10 pairs, 5-8 s each): with 5 rounds of 4 s, one
   * slow stretch of the host moved a ratio's median by up to 0.1 (the open circuit's 503 read
   * 0.88x-1.00x hello-world in four runs of the same code).
   */
  pairs: number;
  /** Seconds per measured run (whole seconds: wrk's -d takes no fractions). */
  seconds: number;
  /** Seconds of the warm-up run per target and scenario, not counted. */
  warmup: number;
  /** wrk's --timeout: a response slower than this counts as a client timeout. */
  timeoutS: number;
  /** Scenario ids to run; all when undefined. */
  only: Set<string> | undefined;
  gate: GateOptions;
  breaker: { enabled: boolean; iterations: number; rounds: number };
  build: boolean;
}

function int(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new RangeError(`Expected \`${name}\` to be a number >= ${min}, received ${JSON.stringify(raw)}.`);
  return value;
}

export function readConfig(): Config {
  const quick = process.env.BENCH_QUICK === '1';
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    quick,
    pairs: Math.round(int('BENCH_PAIRS', quick ? 1 : 10, 1)),
    seconds: Math.max(1, Math.round(int('BENCH_SECONDS', quick ? 1 : 5, 1))),
    warmup: Math.round(int('BENCH_WARMUP', 1, 0)),
    timeoutS: Math.max(1, Math.round(int('BENCH_TIMEOUT', 2, 1))),
    only: only && only.length > 0 ? new Set(only) : undefined,
    gate: {
      maxOutsideCores: int('BENCH_GATE', 0.2, 0),
      quietMs: int('BENCH_QUIET_MS', quick ? 0 : 2000, 0),
      retries: Math.round(int('BENCH_RETRIES', quick ? 0 : 1, 0)),
    },
    breaker: {
      enabled: process.env.BENCH_BREAKER !== '0',
      iterations: Math.round(int('BENCH_BREAKER_ITERATIONS', quick ? 100_000 : 1_000_000, 1000)),
      rounds: Math.round(int('BENCH_BREAKER_ROUNDS', quick ? 3 : 5, 1)),
    },
    build: process.env.BENCH_BUILD !== '0',
  };
}

/** The BENCH_* variables set for this run, for the report's command line. */
export function benchEnv(): string {
  return Object.entries(process.env)
    .filter(([key]) => key.startsWith('BENCH_'))
    .map(([key, value]) => `${key}=${value}`)
    .sort()
    .join(' ');
}
