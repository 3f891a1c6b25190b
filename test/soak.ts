/**
 * Fault injection under load: `npm run soak [-- --seconds 300]`, and a short run in
 * test/soak.test.ts. It watches the proxy only through its public surface (`createProxy`,
 * `snapshot()`, events, `listen`/`close`), as any user of the package would.
 *
 * One proxy (in this process, so heap and file descriptors can be measured) in front of two
 * fixture replicas that flap through every failure mode on a schedule, while a fixed number of
 * keep-alive clients send requests as fast as they are answered, some of them aborting on purpose
 * (before the response, or in the middle of its body). At the end, every request must have had an
 * answer in time, the process must have stayed clean (no uncaught error, no warning), memory and
 * descriptors must be back near where they started, the breakers must have followed the schedule,
 * and no upstream request may be left running.
 */
import { readdirSync, realpathSync } from 'node:fs';
import * as http from 'node:http';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ModeName, UpstreamMode } from '../fixtures/modes.js';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';
import { createProxy, type Proxy, type StateChangeInfo } from '../lib/index.js';

export interface SoakOptions {
  /** Length of the scheduled run (after a 1 s warm-up), seconds; longer when a healthy phase is slow to close its circuit. @default 60 */
  seconds?: number;
  /** Concurrent keep-alive client connections. @default 64 */
  connections?: number;
  /** Length of one phase of the schedule, ms. @default 1500 */
  phaseMs?: number;
  /** The route's call timeout, ms: long enough that a busy machine does not make a healthy target time out. @default 1000 */
  timeout?: number;
  /** Share of requests the client aborts before the response, and in the middle of its body. @default 0.04 each */
  abortRate?: number;
  /** Allowed heap and RSS growth after the run and a full GC, MiB. @default 20 */
  memoryBoundMiB?: number;
  /** Called with progress lines (phase switches); silent by default. */
  log?: (line: string) => void;
  /** Also log every circuit transition. */
  verbose?: boolean;
}

export interface SoakCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SoakReport {
  options: Required<Omit<SoakOptions, 'log' | 'verbose'>>;
  checks: SoakCheck[];
  /** Counts of how requests ended, by class. */
  outcomes: Record<string, number>;
  ok: boolean;
  /** The report as a printable table. */
  table: string;
}

/** Healthy and failing modes, interleaved; the schedule walks this list, in a loop. */
const SCHEDULE: ReadonlyArray<{ name: string; mode: UpstreamMode; failing: boolean }> = [
  { name: 'ok', mode: { type: 'ok' }, failing: false },
  { name: 'status 500', mode: { type: 'status', status: 500 }, failing: true },
  { name: 'slow 100 ms', mode: { type: 'slow', delay: 100 }, failing: false },
  { name: 'hang', mode: { type: 'hang' }, failing: true },
  { name: 'ok', mode: { type: 'ok' }, failing: false },
  { name: 'reset', mode: { type: 'reset' }, failing: true },
  { name: 'slow 100 ms', mode: { type: 'slow', delay: 100 }, failing: false },
  { name: 'reset-mid-body', mode: { type: 'reset-mid-body' }, failing: true },
  { name: 'ok', mode: { type: 'ok' }, failing: false },
  { name: 'refuse', mode: { type: 'refuse' }, failing: true },
];

const BREAKER = { failureThreshold: 3, resetTimeout: 150, resetTimeoutMax: 400, jitter: 0.1, halfOpenMaxCalls: 1 } as const;
/** Body of the download requests (some aborted in the middle), bytes. */
const DOWNLOAD = 256 * 1024;
/** What reset-mid-body announces (Content-Length) before it cuts the body in half. */
const MID_BODY_TOTAL = '1024';

interface Phase {
  name: string;
  failing: boolean;
  mode: ModeName;
  start: number;
  end: number;
  /** A healthy phase: its circuit was seen CLOSED before the phase ended (polled, not timed). */
  closedSeen?: boolean;
}

/** The target's records at one instant: read in the `stateChange` listener, which runs inside the transition. */
interface Records {
  /** Fixture requests received so far. */
  received: number;
  /** The breaker's own counts so far: tickets issued, probes among them, probes released unused. */
  admitted: number;
  probesAdmitted: number;
  probesReleased: number;
}

interface Transition extends Records {
  at: number;
  from: string;
  to: string;
}

interface Replica {
  name: string;
  upstream: Upstream;
  phases: Phase[];
  transitions: Transition[];
  /** The records when the run ended, closing the last period. */
  end?: Records;
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

let collect: (() => void) | undefined;
function fullGc(): void {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  collect();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms for up to `limitMs`; resolves to whether it held. */
async function until(condition: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

const MiB = 2 ** 20;

/** Runs the soak and returns its report; never throws for a failed check (see `report.ok`). */
export async function runSoak(input: SoakOptions = {}): Promise<SoakReport> {
  const options = {
    seconds: input.seconds ?? 60,
    connections: input.connections ?? 64,
    phaseMs: input.phaseMs ?? 1_500,
    timeout: input.timeout ?? 1_000,
    abortRate: input.abortRate ?? 0.04,
    memoryBoundMiB: input.memoryBoundMiB ?? 20,
  };
  const log = input.log ?? (() => undefined);

  // --- process hygiene ------------------------------------------------------------------------
  const problems = { uncaught: [] as string[], unhandled: [] as string[], warnings: [] as string[] };
  const onUncaught = (error: Error): void => void problems.uncaught.push(`${error.name}: ${error.message}`);
  const onUnhandled = (reason: unknown): void => void problems.unhandled.push(String(reason));
  const onWarning = (warning: Error): void => void problems.warnings.push(`${warning.name}: ${warning.message}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
  process.on('warning', onWarning);

  let runStartedAt = performance.now();
  const fdsAtStart = openFds();
  const replicas: Replica[] = [];
  for (const name of ['A', 'B']) replicas.push({ name, upstream: await startUpstream(), phases: [], transitions: [] });
  const proxy = createProxy({ targets: replicas.map((r) => r.upstream.url), timeout: options.timeout, breaker: BREAKER });
  const { port } = await proxy.listen(0, '127.0.0.1');
  const byOrigin = new Map(replicas.map((r) => [new URL(r.upstream.url).origin, r]));
  proxy.on('stateChange', (info: StateChangeInfo) => {
    const replica = byOrigin.get(info.target)!;
    replica.transitions.push({ at: performance.now(), from: info.from, to: info.to, ...recordsOf(proxy, replica) });
    if (input.verbose === true) log(`${((performance.now() - runStartedAt) / 1000).toFixed(2).padStart(6)} s  ${replica.name} ${info.from} -> ${info.to}`);
  });

  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections, scheduling: 'lifo' });
  const outcomes: Record<string, number> = {};
  const count = (key: string): void => void (outcomes[key] = (outcomes[key] ?? 0) + 1);
  const unexpected: string[] = [];
  let maxLatency = 0;
  let requests = 0;
  /** performance.now() of each switch into `refuse`: it cuts the bodies that fixture is sending. */
  const refuseSwitches: number[] = [];
  const deadlineMs = options.timeout * 2 + 1_000;

  /** One request; resolves when it has ended, however it ended. */
  const oneRequest = (): Promise<void> => {
    requests++;
    const roll = Math.random();
    const abortEarly = roll < options.abortRate;
    const abortMidBody = !abortEarly && roll < options.abortRate * 2;
    const download = abortMidBody || roll > 0.9;
    const post = !download && roll > 0.8;
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      let response: http.IncomingMessage | undefined;
      let aborted = false;
      let received = 0;
      const finish = (key: string, problem?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (abortTimer !== undefined) clearTimeout(abortTimer);
        maxLatency = Math.max(maxLatency, performance.now() - started);
        count(key);
        if (problem !== undefined && unexpected.length < 20) unexpected.push(problem);
        resolve();
      };
      const req = http.request({
        host: '127.0.0.1',
        port,
        agent,
        method: post ? 'POST' : 'GET',
        path: download ? `/bytes/${DOWNLOAD}` : post ? '/upload' : '/item',
        headers: post ? { 'content-type': 'text/plain' } : {},
      });
      const deadline = setTimeout(() => {
        finish('hung', `no answer within ${deadlineMs} ms (${req.method} ${req.path})`);
        req.destroy();
      }, deadlineMs);
      const abortTimer = abortEarly
        ? setTimeout(() => {
            if (response !== undefined) return;
            aborted = true;
            req.destroy();
          }, Math.random() * 30)
        : undefined;
      req.on('error', (error: Error & { code?: string }) => {
        if (aborted) return finish('client abort before response');
        if (response !== undefined) return; // the response's own handlers classify it
        finish('unexpected error', `${req.method} ${req.path}: ${error.code ?? error.message} before any response`);
      });
      req.on('response', (res) => {
        response = res;
        const proxyStatus = res.headers['proxy-status'];
        const status = res.statusCode ?? 0;
        const key = proxyStatus !== undefined ? `proxy ${status} ${/error=(\w+)/.exec(String(proxyStatus))?.[1] ?? '?'}` : `upstream ${status}`;
        if (proxyStatus === undefined && status >= 500 && status !== 500) {
          return finish('unexpected status', `${status} without Proxy-Status`);
        }
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (abortMidBody && !aborted && received < DOWNLOAD) {
            aborted = true;
            res.destroy();
            finish('client abort mid-body');
          }
        });
        res.on('end', () => finish(key));
        res.on('error', () => undefined);
        res.on('close', () => {
          if (settled || res.complete) return;
          if (aborted) return finish('client abort mid-body');
          if (res.headers['content-length'] === MID_BODY_TOTAL && received < Number(MID_BODY_TOTAL)) return finish('cut mid-body (reset-mid-body)');
          const now = performance.now();
          if (refuseSwitches.some((at) => now - at >= -50 && now - at < 200)) return finish('cut mid-body (fixture switched to refuse)');
          finish('unexpected cut', `${req.method} ${req.path}: ${status} body cut after ${received} bytes`);
        });
      });
      if (post) req.end('x'.repeat(1024));
      else req.end();
    });
  };

  let running = true;
  const worker = async (): Promise<void> => {
    while (running) await oneRequest();
  };

  // --- warm-up, then the baseline -----------------------------------------------------------------
  const warmEnd = performance.now() + 1_000;
  const warmers = Array.from({ length: options.connections }, async () => {
    while (performance.now() < warmEnd) await oneRequest();
  });
  await Promise.all(warmers);
  for (const key of Object.keys(outcomes)) delete outcomes[key];
  requests = 0;
  await sleep(50);
  fullGc();
  const memoryBefore = process.memoryUsage();
  const fdsBefore = openFds() - 2 * agentSockets(agent) - 2 * upstreamConnections(replicas);

  // --- the scheduled run ---------------------------------------------------------------------------
  const runStart = performance.now();
  runStartedAt = runStart;
  const runEnd = runStart + options.seconds * 1_000;
  const switchMode = async (replica: Replica, index: number): Promise<void> => {
    const step = SCHEDULE[index % SCHEDULE.length]!;
    const previous = replica.phases.at(-1);
    const calledAt = performance.now();
    if (previous !== undefined) previous.end = calledAt;
    if (step.mode.type === 'refuse') refuseSwitches.push(calledAt);
    await replica.upstream.setMode(step.mode);
    replica.phases.push({ name: step.name, failing: step.failing, mode: step.mode.type, start: performance.now(), end: Infinity });
    log(`${((calledAt - runStart) / 1000).toFixed(1).padStart(6)} s  ${replica.name} -> ${step.name}`);
  };
  // A and B walk the same list, B half a phase later and five steps further, so their failures overlap only in part.
  const closed = (replica: Replica): (() => boolean) => {
    const origin = new URL(replica.upstream.url).origin;
    return () => proxy.snapshot().targets.find((target) => target.target === origin)?.state === 'CLOSED';
  };
  const openedSince = (replica: Replica, since: number): (() => boolean) => () => replica.transitions.some((t) => t.to === 'OPEN' && t.at >= since);
  // A phase lasts at least phaseMs and until its circuit has opened (failing) or closed (healthy),
  // up to this bound: on a busy machine a probe takes longer to go through, and the check is that
  // it closes, not how soon.
  const healthyLimitMs = options.phaseMs * 5;
  const scheduler = async (replica: Replica, offsetMs: number, shift: number): Promise<void> => {
    await sleep(offsetMs);
    // The last full phase ends a phase before runEnd (or later, if it is healthy and slow to close).
    for (let index = 0; performance.now() + 2 * options.phaseMs <= runEnd; index++) {
      await switchMode(replica, index + shift);
      await sleep(options.phaseMs);
      const phase = replica.phases.at(-1)!;
      // Each phase lasts until what it is there to show has happened (bounded): on a busy machine
      // requests, probes and timeouts all come later, and the check is that they come.
      if (phase.failing) await until(openedSince(replica, phase.start), healthyLimitMs - options.phaseMs);
      else phase.closedSeen = await until(closed(replica), healthyLimitMs - options.phaseMs);
    }
    await sleep(runEnd - options.phaseMs - performance.now());
    // The last phase is healthy for both, and lasts until the circuits have closed (bounded).
    const previous = replica.phases.at(-1);
    if (previous !== undefined) previous.end = performance.now();
    await replica.upstream.setMode('ok');
    replica.phases.push({ name: 'ok (final)', failing: false, mode: 'ok', start: performance.now(), end: Infinity });
    await sleep(runEnd - performance.now());
    replica.phases.at(-1)!.closedSeen = await until(closed(replica), healthyLimitMs);
    // Judged now: while the other replica's last phase goes on, a request slowed past the call
    // timeout by a busy machine may open this circuit again, and that says nothing of the breaker.
    replica.phases.at(-1)!.end = performance.now();
  };
  for (const replica of replicas) replica.phases.push({ name: 'ok (warm-up)', failing: false, mode: 'ok', start: runStart, end: Infinity });
  const workers = Array.from({ length: options.connections }, worker);
  const schedulers = [scheduler(replicas[0]!, 0, 0), scheduler(replicas[1]!, options.phaseMs / 2, 5)];
  await Promise.all(schedulers);
  running = false;
  await Promise.all(workers);
  const runSeconds = (performance.now() - runStart) / 1000;
  for (const replica of replicas) replica.end = recordsOf(proxy, replica);

  // --- after the run --------------------------------------------------------------------------------
  const settleDeadline = performance.now() + 3_000;
  const upstreamInFlight = (): number => replicas.reduce((sum, r) => sum + r.upstream.stats().inFlight, 0);
  const targetsInFlight = (): number => proxy.snapshot().targets.reduce((sum, target) => sum + target.inFlight, 0);
  while ((upstreamInFlight() > 0 || targetsInFlight() > 0) && performance.now() < settleDeadline) await sleep(20);
  const leftUpstream = upstreamInFlight();
  const targetInFlight = targetsInFlight();
  agent.destroy();
  await sleep(100);
  fullGc();
  const memoryAfter = process.memoryUsage();
  const fdsLive = openFds() - 2 * upstreamConnections(replicas);
  await proxy.close(1_000);
  for (const replica of replicas) await replica.upstream.close();
  await sleep(50);
  const fdsAtEnd = openFds();
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUnhandled);
  process.off('warning', onWarning);

  // --- checks -------------------------------------------------------------------------------------------
  const checks: SoakCheck[] = [];
  const check = (name: string, ok: boolean, detail: string): void => void checks.push({ name, ok, detail });
  const answered = requests - (outcomes.hung ?? 0);
  check('every request answered in time', (outcomes.hung ?? 0) === 0, `${answered}/${requests} (${Math.round(requests / runSeconds)}/s), slowest ${Math.round(maxLatency)} ms, bound ${deadlineMs} ms`);
  const surprises = (outcomes['unexpected error'] ?? 0) + (outcomes['unexpected cut'] ?? 0) + (outcomes['unexpected status'] ?? 0);
  check('no unexpected client errors', surprises === 0, surprises === 0 ? '0' : `${surprises}: ${unexpected.slice(0, 3).join('; ')}`);
  check('no uncaught exception or rejection', problems.uncaught.length + problems.unhandled.length === 0, `${problems.uncaught.length} uncaught, ${problems.unhandled.length} unhandled${[...problems.uncaught, ...problems.unhandled].slice(0, 2).map((p) => `; ${p}`).join('')}`);
  check('no process warning (MaxListenersExceeded, ...)', problems.warnings.length === 0, problems.warnings.length === 0 ? '0' : problems.warnings.slice(0, 3).join('; '));
  const heapGrowth = (memoryAfter.heapUsed - memoryBefore.heapUsed) / MiB;
  const buffersGrowth = (memoryAfter.arrayBuffers - memoryBefore.arrayBuffers) / MiB;
  check(`heap growth after GC < ${options.memoryBoundMiB} MiB`, heapGrowth < options.memoryBoundMiB, `${(memoryBefore.heapUsed / MiB).toFixed(1)} -> ${(memoryAfter.heapUsed / MiB).toFixed(1)} MiB (${signed(heapGrowth)})`);
  // Buffers (sockets' data) live outside the heap. RSS is shown, not judged: the allocator keeps
  // pages it used at the peak, and the peak grows with how busy the machine was.
  check(
    `buffer memory growth after GC < ${options.memoryBoundMiB} MiB`,
    buffersGrowth < options.memoryBoundMiB,
    `${(memoryBefore.arrayBuffers / MiB).toFixed(1)} -> ${(memoryAfter.arrayBuffers / MiB).toFixed(1)} MiB (${signed(buffersGrowth)}); RSS ${(memoryBefore.rss / MiB).toFixed(0)} -> ${(memoryAfter.rss / MiB).toFixed(0)} MiB`,
  );
  check('file descriptors back to baseline', fdsLive <= fdsBefore + 4 && fdsAtEnd <= fdsAtStart + 2, `live ${fdsLive} vs ${fdsBefore} (upstream keep-alive sockets aside); after close ${fdsAtEnd} vs ${fdsAtStart}`);
  check('no upstream request left running', leftUpstream === 0 && targetInFlight === 0, `fixtures ${leftUpstream}, proxy's targets ${targetInFlight}`);
  for (const replica of replicas) {
    const { failingOpened, failing, healthyClosed, healthy, misses } = followSchedule(replica);
    check(`target ${replica.name}: each failing phase opened its circuit`, failingOpened === failing, `${failingOpened}/${failing}${misses.failing.length > 0 ? `; missed: ${misses.failing.join(', ')}` : ''}`);
    check(`target ${replica.name}: each healthy phase closed it again`, healthyClosed === healthy, `${healthyClosed}/${healthy}${misses.healthy.length > 0 ? `; missed: ${misses.healthy.join(', ')}` : ''}`);
    const probes = probesPerHalfOpen(replica);
    check(
      `target ${replica.name}: at most ${BREAKER.halfOpenMaxCalls} probe(s) per half-open period`,
      probes.ok,
      `${probes.admitted} probes admitted, ${probes.released} released unused, in ${probes.periods} half-open periods (most at once: ${probes.most})`,
    );
    const open = onlyProbesWhileNotClosed(replica);
    check(
      `target ${replica.name}: only probes reached it while not CLOSED`,
      open.ok,
      `${open.periods} periods: ${open.otherAdmitted} non-probe admissions; the fixture received ${open.received}, at most ${open.bound} allowed (${open.probes} probes + ${open.backlog} admitted before an opening, not yet received)`,
    );
  }
  const ok = checks.every((c) => c.ok);
  const report: SoakReport = { options, checks, outcomes, ok, table: '' };
  report.table = formatTable(report, runSeconds, requests);
  return report;
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)} MiB`;
}

function agentSockets(agent: http.Agent): number {
  let n = 0;
  for (const list of Object.values(agent.sockets)) n += list?.length ?? 0;
  for (const list of Object.values(agent.freeSockets)) n += list?.length ?? 0;
  return n;
}

/**
 * Open connections from the proxy to the fixtures: two descriptors each in this process (proxy
 * side and fixture side). Counted by the fixtures, so the proxy's pools stay its own business.
 */
function upstreamConnections(replicas: readonly Replica[]): number {
  return replicas.reduce((sum, replica) => sum + replica.upstream.stats().connections, 0);
}

function recordsOf(proxy: Proxy, replica: Replica): Records {
  const origin = new URL(replica.upstream.url).origin;
  const { counts } = proxy.snapshot().targets.find((target) => target.target === origin)!;
  return { received: replica.upstream.stats().requests, admitted: counts.admitted, probesAdmitted: counts.probesAdmitted, probesReleased: counts.probesReleased };
}

/** The circuit state at `at`, from the recorded transitions. */
function stateAt(replica: Replica, at: number): string {
  let state = 'CLOSED';
  for (const t of replica.transitions) {
    if (t.at > at) break;
    state = t.to;
  }
  return state;
}

/**
 * Failing phase: some transition to OPEN between its start and shortly after its end (requests
 * still in flight when it ended, hanging ones for the call timeout, fail after it). Healthy phase:
 * the circuit was seen CLOSED before it ended.
 */
function followSchedule(replica: Replica): { failingOpened: number; failing: number; healthyClosed: number; healthy: number; misses: { failing: string[]; healthy: string[] } } {
  const result = { failingOpened: 0, failing: 0, healthyClosed: 0, healthy: 0, misses: { failing: [] as string[], healthy: [] as string[] } };
  const grace = 500;
  for (const phase of replica.phases) {
    if (phase.failing) {
      result.failing++;
      const opened = replica.transitions.some((t) => t.to === 'OPEN' && t.at >= phase.start && t.at <= phase.end + grace);
      if (opened) result.failingOpened++;
      else result.misses.failing.push(phase.name);
    } else if (!phase.name.includes('warm-up')) {
      result.healthy++;
      // Seen CLOSED while the phase lasted: a busy machine can slow a healthy answer past the call
      // timeout and open the circuit again right after, which says nothing of the breaker.
      if (phase.closedSeen === true || stateAt(replica, phase.end) === 'CLOSED') result.healthyClosed++;
      else result.misses.healthy.push(`${phase.name} (${stateAt(replica, phase.end)})`);
    }
  }
  return result;
}

/** Each transition with the records that close its period: the next transition's, or the run's end. */
function periods(replica: Replica): Array<{ start: Transition; end: Records }> {
  const result: Array<{ start: Transition; end: Records }> = [];
  replica.transitions.forEach((start, i) => {
    const end = replica.transitions[i + 1] ?? replica.end;
    if (end !== undefined) result.push({ start, end });
  });
  return result;
}

/**
 * The half-open rule, from the breaker's own records, so timing cannot sway it: a half-open
 * period admits at most `halfOpenMaxCalls` probes beyond those released unused (a client that
 * left gives its probe's slot back).
 */
function probesPerHalfOpen(replica: Replica): { periods: number; admitted: number; released: number; most: number; ok: boolean } {
  const result = { periods: 0, admitted: 0, released: 0, most: 0, ok: true };
  for (const { start, end } of periods(replica)) {
    if (start.to !== 'HALF_OPEN') continue;
    const admitted = end.probesAdmitted - start.probesAdmitted;
    const released = end.probesReleased - start.probesReleased;
    result.periods++;
    result.admitted += admitted;
    result.released += released;
    result.most = Math.max(result.most, admitted - released);
    if (admitted - released > BREAKER.halfOpenMaxCalls) result.ok = false;
  }
  return result;
}

/**
 * From each opening to the next close: the breaker admitted nothing but probes, and the fixture
 * received no more than those probes plus what was admitted before the opening and had not
 * reached it yet. Counts, not time windows: a busy machine only delays arrivals, and a delayed
 * arrival stays within the bound.
 */
function onlyProbesWhileNotClosed(replica: Replica): { periods: number; otherAdmitted: number; received: number; bound: number; probes: number; backlog: number; ok: boolean } {
  const result = { periods: 0, otherAdmitted: 0, received: 0, bound: 0, probes: 0, backlog: 0, ok: true };
  const all = periods(replica);
  for (let i = 0; i < all.length; i++) {
    const opening = all[i]!.start;
    if (opening.from !== 'CLOSED') continue;
    let last = i;
    while (last + 1 < all.length && all[last + 1]!.start.to !== 'CLOSED') last++;
    const end = all[last]!.end;
    const probes = end.probesAdmitted - opening.probesAdmitted;
    const other = end.admitted - opening.admitted - probes;
    const backlog = Math.max(0, opening.admitted - opening.received);
    const received = end.received - opening.received;
    result.periods++;
    result.otherAdmitted += other;
    result.received += received;
    result.probes += probes;
    result.backlog += backlog;
    result.bound += probes + backlog;
    if (other !== 0 || received > probes + backlog) result.ok = false;
  }
  return result;
}

function formatTable(report: SoakReport, seconds: number, requests: number): string {
  const { options, checks, outcomes } = report;
  const lines: string[] = [];
  lines.push(
    `proxy-breaker soak: ${seconds.toFixed(1)} s, ${options.connections} keep-alive connections, 2 targets flapping every ${options.phaseMs} ms, call timeout ${options.timeout} ms, ${requests} requests`,
  );
  const width = Math.max(...checks.map((c) => c.name.length), 30);
  lines.push('', `  ${'check'.padEnd(width)}  ok  detail`, `  ${'-'.repeat(width)}  --  ${'-'.repeat(40)}`);
  for (const c of checks) lines.push(`  ${c.name.padEnd(width)}  ${c.ok ? 'ok' : 'NO'}  ${c.detail}`);
  const keys = Object.keys(outcomes).sort((a, b) => outcomes[b]! - outcomes[a]!);
  const keyWidth = Math.max(...keys.map((k) => k.length), 10);
  lines.push('', `  ${'how requests ended'.padEnd(keyWidth)}  count`, `  ${'-'.repeat(keyWidth)}  -----`);
  for (const key of keys) lines.push(`  ${key.padEnd(keyWidth)}  ${String(outcomes[key]).padStart(5)}`);
  lines.push('', report.ok ? 'soak: all checks passed' : 'soak: FAILED');
  return lines.join('\n');
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(resolvePath(entry)) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      connections: { type: 'string', default: '64' },
      'phase-ms': { type: 'string', default: '1500' },
      quiet: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('Usage: npm run soak -- [--seconds 60] [--connections 64] [--phase-ms 1500] [--quiet]\n');
    return;
  }
  const number = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`Expected \`--${name}\` to be a positive number, received ${JSON.stringify(text)}.`);
    return value;
  };
  const report = await runSoak({
    seconds: number('seconds', values.seconds),
    connections: number('connections', values.connections),
    phaseMs: number('phase-ms', values['phase-ms']),
    log: values.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
    verbose: values.verbose,
  });
  process.stdout.write(`${report.table}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

if (isEntryPoint()) {
  main().catch((error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  });
}
