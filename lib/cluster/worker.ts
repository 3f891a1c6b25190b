/**
 * A cluster worker: one proxy whose targets' breakers mirror the primary's (mirror.ts). It takes
 * its configuration from the primary only (never from argv or a file), listens through
 * node:cluster (the primary holds the socket), and talks to the primary over the IPC channel:
 * failures and probe outcomes at once, successes batched, a snapshot every second (which is also
 * its heartbeat). It exits when the channel closes, so a dead primary leaves no orphan.
 */
import { Proxy } from '../proxy/proxy.js';
import type { CircuitBreakerOptions } from '../breaker/breaker.js';
import { MirroredBreaker, type MirrorLink } from './mirror.js';
import type { HealthVerdict } from '../proxy/health.js';
import { SNAPSHOT_MS, SUCCESS_FLUSH_MS, type BreakerState, type HealthReport, type ToPrimary, type ToWorker, type WorkerConfig } from './protocol.js';

/** What a worker's proxy reports through (its events), so that the CLI can log them its way. */
export interface WorkerHooks {
  /** Called once the proxy exists, before it listens: attach loggers here. */
  started?(proxy: Proxy, config: WorkerConfig): { flush(): void } | void;
}

class Link implements MirrorLink {
  readonly mirrors = new Map<string, MirroredBreaker>();
  workers = 1;
  readonly #send: (message: ToPrimary) => void;

  constructor(send: (message: ToPrimary) => void) {
    this.#send = send;
  }

  failure(mirror: MirroredBreaker, epoch: number, message: string): void {
    // Successes seen before this failure go first, in the same message: one worker's outcomes
    // reach the primary in the order they happened.
    const same = mirror.pendingEpoch === epoch;
    const successes = same ? mirror.pendingSuccesses : 0;
    const slow = same ? mirror.pendingSlow : 0;
    mirror.pendingSuccesses = 0;
    mirror.pendingSlow = 0;
    this.#send({ type: 'outcomes', origin: mirror.origin, epoch, successes, slow, failure: message });
  }

  probe(mirror: MirroredBreaker, epoch: number, outcome: 'started' | 'success' | 'failure' | 'release', message?: string): void {
    this.#send(message === undefined ? { type: 'probe', origin: mirror.origin, epoch, outcome } : { type: 'probe', origin: mirror.origin, epoch, outcome, failure: message });
  }

  /** Sends the batched successes. */
  flush(): void {
    for (const mirror of this.mirrors.values()) {
      if (mirror.pendingSuccesses === 0) continue;
      const { pendingSuccesses: successes, pendingSlow: slow } = mirror;
      mirror.pendingSuccesses = 0;
      mirror.pendingSlow = 0;
      this.#send({ type: 'outcomes', origin: mirror.origin, epoch: mirror.pendingEpoch, successes, slow });
    }
  }
}

/** Runs this process as a cluster worker until the primary says drain or goes away. */
export function runWorker(hooks: WorkerHooks = {}): void {
  const send = (message: ToPrimary): void => {
    if (process.connected) process.send!(message);
  };
  const link = new Link(send);
  const known = new Map<string, BreakerState>();
  const makeBreaker = (origin: string, options: CircuitBreakerOptions): MirroredBreaker => {
    const mirror = new MirroredBreaker(origin, options, link, known.get(origin));
    link.mirrors.set(origin, mirror);
    return mirror;
  };
  let proxy: Proxy | undefined;
  let followHealth: ((origin: string, to: HealthVerdict) => void) | undefined;
  let output: { flush(): void } | undefined;
  let draining = false;
  let drainTimeout = 10_000;

  const snapshot = (final: boolean): ToPrimary | undefined =>
    proxy === undefined ? undefined : { type: 'snapshot', snapshot: proxy.snapshot(), inFlight: proxy.inFlight, final };
  const flushTimer = setInterval(() => link.flush(), SUCCESS_FLUSH_MS);
  const snapshotTimer = setInterval(() => {
    const message = snapshot(false);
    if (message !== undefined) send(message);
  }, SNAPSHOT_MS);

  const drain = async (): Promise<void> => {
    if (draining) {
      process.exit(1);
    }
    draining = true;
    await proxy?.close(drainTimeout);
    clearInterval(flushTimer);
    clearInterval(snapshotTimer);
    link.flush();
    output?.flush();
    const final = snapshot(true);
    if (final !== undefined && process.connected) process.send!(final, () => process.exit(0));
    else process.exit(0);
  };

  const start = async (config: WorkerConfig, states: BreakerState[], health: HealthReport[]): Promise<void> => {
    for (const state of states) known.set(state.origin, state);
    drainTimeout = config.drainTimeout;
    link.workers = config.workers;
    proxy = new Proxy(config.proxy, { makeBreaker, syntheticProbes: false, followHealth: (verdict) => (followHealth = verdict) });
    // Targets the primary judged already take traffic (or not) at once, without a wait for checks.
    for (const report of health) followHealth?.(report.origin, report.status);
    output = hooks.started?.(proxy, config) ?? undefined;
    // Listening in a worker goes through node:cluster: the primary holds the socket and hands
    // connections round-robin.
    const { port } = await proxy.listen(config.listen.port, config.listen.host, config.tls === undefined ? {} : { tls: config.tls });
    send({ type: 'listening', port });
  };

  process.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'start':
        start(message.config, message.states, message.health).catch((error: unknown) => {
          const failed: ToPrimary = { type: 'listenFailed', code: (error as { code?: string }).code, message: (error as Error).message };
          if (process.connected) process.send!(failed, () => process.exit(1));
          else process.exit(1);
        });
        return;
      case 'reload':
        try {
          proxy?.reload(message.proxy);
        } catch (error) {
          // The primary validated these options with the same code; keep serving the old ones.
          process.stderr.write(`proxy-breaker worker ${process.pid}: reload failed, keeping the old routes: ${(error as Error).message}\n`);
        }
        return;
      case 'state': {
        known.set(message.state.origin, message.state);
        link.mirrors.get(message.state.origin)?.apply(message.state);
        return;
      }
      case 'certificate':
        try {
          proxy?.setCertificate(message.tls);
        } catch (error) {
          // The primary checked this pair with the same code; keep serving the old one.
          process.stderr.write(`proxy-breaker worker ${process.pid}: certificate reload failed, keeping the old one: ${(error as Error).message}\n`);
        }
        return;
      case 'health':
        followHealth?.(message.origin, message.status);
        return;
      case 'resetCounts':
        link.mirrors.get(message.origin)?.resetCounts();
        return;
      case 'tally':
        link.mirrors.get(message.origin)?.tally(message.epoch, message.failures);
        return;
      case 'grant':
        link.mirrors.get(message.origin)?.grant(message.epoch, message.slots);
        return;
      case 'revoke': {
        const kept = link.mirrors.get(message.origin)?.revoke(message.epoch) ?? false;
        send({ type: 'returned', origin: message.origin, epoch: message.epoch, kept });
        return;
      }
      case 'drain':
        void drain();
        return;
    }
  });
  send({ type: 'ready' });
  // The primary went away (crashed, killed): nobody decides for the breakers any more.
  process.on('disconnect', () => process.exit(1));
  // A terminal's Ctrl-C reaches the whole process group: drain as the primary will ask anyway.
  process.on('SIGINT', () => void drain());
  process.on('SIGTERM', () => void drain());
  // Reloads come from the primary, which read the file once; SIGHUP's default would kill us.
  process.on('SIGHUP', () => {});
}

