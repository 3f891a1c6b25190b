/**
 * The scenarios, and how one is run: start its servers, warm each target up, then `pairs` rounds
 * of measured runs in alternating order (C N D, D N C, ...), each server kept up between runs.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { fileURLToPath } from 'node:url';
import type { Config } from './config.js';
import { h2load, type LoadGenerator, type LoadSpec } from './loadgen.js';
import type { Gate, RunResult } from './measure.js';
import { freePort, sleep, startServer, stop, type Child } from './procs.js';
import { socketsTo, type SocketCount } from './stats.js';
import { startFixture, type Upstream } from './upstream.js';

/** `paths` and `hosts`: proxy-breaker routing through a table of `Scenario.tableSize` routes. */
export type TargetName = 'candidate' | 'naive' | 'direct' | 'hello' | 'paths' | 'hosts';

export interface Scenario {
  id: string;
  title: string;
  connections: number;
  path: (upstream: Upstream) => string;
  method: 'GET' | 'POST';
  bodyBytes: number;
  /** In measuring order; odd rounds run them in reverse. */
  targets: readonly TargetName[];
  /** The limit the candidate is compared with besides the naive proxy. */
  base: 'direct' | 'hello';
  /** Upstream delay (ms) for the Node fixture's `slow` mode; else the shared upstream. */
  slowMs?: number;
  /** The candidate points at a refused port, tripped open before the runs. */
  open?: boolean;
  /** Count the proxies' upstream sockets after each run (1 MiB scenarios). */
  checkSockets?: boolean;
  /** Status every response should have. */
  status: number;
  /** Routes in the tables of the `paths` and `hosts` targets. */
  tableSize?: number;
  /**
   * The proxies listen with TLS (the test certificate) and the client speaks HTTPS (wrk) or h2
   * (h2load); the upstream stays cleartext HTTP/1.1.
   */
  protocol?: 'https' | 'h2';
}

/** The test-only certificate the TLS scenarios serve (fixtures/tls/). */
const TLS_FILES = ['cert.pem', 'key.pem'].map((name) => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url)));

const MiB = 1024 * 1024;
const TABLE_SIZE = 10_000;

export const SCENARIOS: readonly Scenario[] = [
  { id: 'small', title: 'small GET (5 B, keep-alive, 50 conns)', connections: 50, path: (u) => u.paths.small, method: 'GET', bodyBytes: 0, targets: ['candidate', 'naive', 'direct'], base: 'direct', status: 200 },
  { id: 'download', title: '1 MiB download (50 conns)', connections: 50, path: (u) => u.paths.download, method: 'GET', bodyBytes: 0, targets: ['candidate', 'naive', 'direct'], base: 'direct', checkSockets: true, status: 200 },
  { id: 'upload', title: '1 MiB upload (POST, 50 conns)', connections: 50, path: (u) => u.paths.upload, method: 'POST', bodyBytes: MiB, targets: ['candidate', 'naive', 'direct'], base: 'direct', checkSockets: true, status: 200 },
  { id: 'c1000', title: 'small GET, 1000 conns', connections: 1000, path: (u) => u.paths.small, method: 'GET', bodyBytes: 0, targets: ['candidate', 'naive', 'direct'], base: 'direct', status: 200 },
  { id: 'open', title: 'circuit OPEN: 503 fast path (50 conns)', connections: 50, path: () => '/small', method: 'GET', bodyBytes: 0, targets: ['candidate', 'hello'], base: 'hello', open: true, status: 503 },
  {
    id: 'routes', title: `${TABLE_SIZE.toLocaleString('en-US')} path or host routes vs one (small GET, 50 conns)`, connections: 50,
    // The last route of the path table; nginx answers /svc<N>/small like /small.
    path: (u) => `/svc${TABLE_SIZE - 1}${u.paths.small}`,
    method: 'GET', bodyBytes: 0, targets: ['candidate', 'paths', 'hosts'], base: 'direct', status: 200, tableSize: TABLE_SIZE,
  },
  { id: 'https', title: 'small GET over HTTPS (HTTP/1.1, keep-alive, 50 conns)', connections: 50, path: (u) => u.paths.small, method: 'GET', bodyBytes: 0, targets: ['candidate', 'naive', 'direct'], base: 'direct', status: 200, protocol: 'https' },
  // No `direct`: the upstream speaks no h2. Both proxies get h2 clients, one stream per connection.
  { id: 'h2', title: 'small GET over h2 (TLS, 50 conns, 1 stream each)', connections: 50, path: (u) => u.paths.small, method: 'GET', bodyBytes: 0, targets: ['candidate', 'naive'], base: 'direct', status: 200, protocol: 'h2' },
  { id: 'slow', title: 'slow upstream (10 ms, Node fixture), 500 conns', connections: 500, path: (u) => u.paths.small, method: 'GET', bodyBytes: 0, targets: ['candidate', 'naive', 'direct'], base: 'direct', slowMs: 10, status: 200 },
];

export interface Scripts {
  candidate: string;
  naive: string;
  hello: string;
}

export interface BenchContext {
  config: Config;
  generator: LoadGenerator;
  gate: Gate;
  upstream: Upstream;
  /** Snapshot of dist/ (`lib/index.js`), with the fixtures transpiled into it (`fixtures/upstream-cli.js`). */
  dist: string;
  scripts: Scripts;
  /** Extra node flags for the candidate (e.g. --cpu-prof). */
  candidateFlags?: string[];
  log(line: string): void;
}

export interface Run extends RunResult {
  round: number;
  target: TargetName;
}

export interface SocketCheck {
  round: number;
  target: TargetName;
  /** Right after the load generator exited (responses cut off mid-body included). */
  atEnd: SocketCount;
  /** Once nothing was queued on any of them any more, or after 3 s. */
  settled: SocketCount;
  settleMs: number;
}

export interface ScenarioResult {
  id: string;
  title: string;
  connections: number;
  url: Partial<Record<TargetName, string>>;
  upstream: string;
  targets: readonly TargetName[];
  base: 'direct' | 'hello';
  status: number;
  /** Routes in the `paths` and `hosts` targets' tables. */
  tableSize?: number;
  runs: Run[];
  sockets: SocketCheck[];
  /** One request through each server after the runs: does it still answer as it should? */
  health: { target: TargetName; status: number | string }[];
  /** What the candidate wrote to stderr (warnings, internal errors), if anything. */
  candidateStderr: string;
  /** The load generator, when the scenario uses its own (h2load for h2). */
  generator?: string;
  error?: string;
}

interface Server {
  url: string;
  pid: number | undefined;
  child: Child | undefined;
}

/** The line every server child prints once listening: `{"port":N}`. */
export const READY = /"port":(\d+)/;

/** One request with its own connection; resolves to the status or the error code. */
export function probe(url: string, timeoutMs = 5000): Promise<number | string> {
  return new Promise((resolve) => {
    // The TLS scenarios serve the test certificate on loopback: nothing to verify it against here.
    const get = url.startsWith('https:') ? (u: string, o: https.RequestOptions, f: (res: http.IncomingMessage) => void) => https.get(u, { ...o, rejectUnauthorized: false }, f) : http.get;
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function settleSockets(pid: number, port: number): Promise<{ atEnd: SocketCount; settled: SocketCount; settleMs: number }> {
  const empty: SocketCount = { total: 0, established: 0, queued: 0 };
  const atEnd = socketsTo(pid, port) ?? empty;
  const start = performance.now();
  let settled = atEnd;
  do {
    await sleep(100);
    settled = socketsTo(pid, port) ?? empty;
  } while (settled.queued > 0 && performance.now() - start < 3000);
  return { atEnd, settled, settleMs: Math.round(performance.now() - start) };
}

/** How bench/servers/candidate.ts configures proxy-breaker. */
export type CandidateMode = 'normal' | 'open' | `paths:${number}` | `hosts:${number}`;

/** proxy-breaker (from the dist snapshot) or the naive proxy in front of `origin`; `tag` names its log. */
export function startProxy(target: 'candidate' | 'naive', tag: string, ctx: BenchContext, origin: string, mode: CandidateMode = 'normal', tls = false): Promise<Child & { port: number }> {
  const args = target === 'candidate'
    ? [...(ctx.candidateFlags ?? []), ctx.scripts.candidate, `${ctx.dist}/lib/index.js`, origin, mode, ...(tls ? TLS_FILES : [])]
    : [ctx.scripts.naive, origin, ...(tls ? ['0', ...TLS_FILES] : [])];
  return startServer(`${target}-${tag}`, process.execPath, args, READY);
}

async function startTargets(s: Scenario, ctx: BenchContext, upstream: Upstream): Promise<Map<TargetName, Server>> {
  const servers = new Map<TargetName, Server>();
  const node = process.execPath;
  for (const target of s.targets) {
    if (target === 'direct') {
      servers.set(target, { url: upstream.url, pid: undefined, child: undefined });
      continue;
    }
    let child: Child & { port: number };
    if (target === 'candidate') {
      const origin = s.open ? `http://127.0.0.1:${await freePort()}` : upstream.url;
      child = await startProxy('candidate', s.id, ctx, origin, s.open ? 'open' : 'normal', s.protocol !== undefined);
    } else if (target === 'paths' || target === 'hosts') {
      child = await startProxy('candidate', `${s.id}-${target}`, ctx, upstream.url, `${target}:${s.tableSize ?? 1}`);
    } else if (target === 'naive') {
      child = await startProxy('naive', s.id, ctx, upstream.url, 'normal', s.protocol !== undefined);
    } else {
      child = await startServer(`hello-${s.id}`, node, [ctx.scripts.hello], READY);
    }
    servers.set(target, { url: `${s.protocol === undefined ? 'http' : 'https'}://127.0.0.1:${child.port}`, pid: child.pid, child });
  }
  return servers;
}

/** Trips the candidate's circuit: the first request fails to connect (502), the next gets the 503. */
/** Trips the candidate's breaker (its target refuses): 502 then 503. */
export async function trip(url: string): Promise<void> {
  const first = await probe(url);
  const second = await probe(url);
  if (second !== 503) throw new Error(`could not trip the circuit open: got ${first} then ${second}, expected 502 then 503`);
}

export async function runScenario(s: Scenario, ctx: BenchContext): Promise<ScenarioResult> {
  const { config, gate } = ctx;
  let generator = ctx.generator;
  const result: ScenarioResult = {
    id: s.id, title: s.title, connections: s.connections, url: {}, upstream: '', targets: s.targets, base: s.base,
    status: s.status, runs: [], sockets: [], health: [], candidateStderr: '',
    ...(s.tableSize === undefined ? {} : { tableSize: s.tableSize }),
  };
  let upstream = ctx.upstream;
  const extra: Child[] = [];
  let servers = new Map<TargetName, Server>();
  try {
    if (s.slowMs !== undefined) {
      upstream = await startFixture(ctx.dist, s.slowMs);
      extra.push(upstream.child);
    }
    if (s.protocol === 'h2') {
      const h2 = h2load();
      if (h2 === undefined) throw new Error('the h2 scenario needs h2load (Debian package nghttp2-client)');
      generator = h2;
      result.generator = h2.version;
    }
    result.upstream = s.slowMs !== undefined ? `${upstream.version}, slow mode ${s.slowMs} ms` : upstream.version;
    servers = await startTargets(s, ctx, upstream);
    for (const [target, server] of servers) result.url[target] = server.url + s.path(upstream);
    if (s.open) await trip(result.url.candidate!);

    const ours = [...new Set([...ctx.upstream.allPids(), ...upstream.allPids(), ...[...servers.values()].flatMap((v) => (v.pid === undefined ? [] : [v.pid]))])];
    const spec = (target: TargetName, seconds: number): LoadSpec => ({
      url: result.url[target]!, connections: s.connections, seconds, method: s.method, bodyBytes: s.bodyBytes, timeoutS: config.timeoutS,
    });
    // The upstream serves the proxies too, so its CPU counts for every target except the hello world.
    const upstreamPids = s.open ? [] : upstream.servingPids();

    if (config.warmup > 0) for (const target of s.targets) await generator.run(spec(target, config.warmup));

    for (let round = 0; round < config.pairs; round++) {
      const order = round % 2 === 0 ? s.targets : [...s.targets].reverse();
      for (const target of order) {
        const server = servers.get(target)!;
        const run = await gate.measure(generator, spec(target, config.seconds), {
          pid: server.pid, upstreamPids: target === 'hello' ? [] : upstreamPids, ourPids: ours,
        });
        result.runs.push({ round, target, ...run });
        ctx.log(describeRun(s.id, round, target, run));
        if (s.checkSockets && server.pid !== undefined) {
          const check = await settleSockets(server.pid, upstream.port);
          result.sockets.push({ round, target, ...check });
          if (check.settled.queued > 0) ctx.log(`    ${target}: ${check.settled.queued} upstream sockets still hold data ${check.settleMs} ms after the run`);
        }
      }
    }
    for (const target of s.targets) result.health.push({ target, status: await probe(result.url[target]!) });
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    ctx.log(`  ${s.id}: FAILED: ${result.error}`);
  } finally {
    await Promise.all([...[...servers.values()].flatMap((v) => (v.child === undefined ? [] : [stop(v.child)])), ...extra.map((c) => stop(c))]);
    const proxies = (['candidate', 'paths', 'hosts'] as const).flatMap((t) => (servers.get(t)?.child === undefined ? [] : [[t, servers.get(t)!.child!] as const]));
    const logs = await Promise.all(proxies.map(async ([t, child]) => [t, await stderrOf(child)] as const));
    result.candidateStderr = logs.filter(([, text]) => text !== '').map(([t, text]) => (t === 'candidate' ? text : `${t}: ${text}`)).join('\n');
  }
  return result;
}

/** The candidate's log minus its ready line: anything there is a warning or an error. */
export async function stderrOf(child: Child): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(child.log, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '' && !READY.test(line)).slice(-20).join('\n');
}

function describeRun(id: string, round: number, target: TargetName, r: RunResult): string {
  const n = (x: number | undefined, digits = 1): string => (x === undefined ? '-' : x.toFixed(digits));
  const errors = r.errors.connect + r.errors.read + r.errors.write;
  return (
    `  ${id} #${round + 1} ${target.padEnd(9)} ${Math.round(r.rps).toString().padStart(6)} req/s  p50 ${n(r.p50Ms, 2)} ms  p99 ${n(r.p99Ms, 2)} ms` +
    `  cpu ${n(r.cpuUsPerReq)} us/req  upstream ${n(r.upstreamCpuUsPerReq)} us/req  rss ${n(r.peakRssMB, 0)} MB` +
    (errors + r.errors.timeout > 0 ? `  errors ${errors} timeouts ${r.errors.timeout}` : '') +
    `  [outside ${r.outsideCores.toFixed(2)} cores${r.noisy ? ', NOISY' : ''}${r.tries > 1 ? `, try ${r.tries}` : ''}]`
  );
}
