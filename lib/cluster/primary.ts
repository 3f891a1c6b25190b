/**
 * `startCluster()`: the primary of a node:cluster of proxies. It holds the listening socket
 * (node:cluster shares it; Linux default round-robin scheduling), forks `workers` processes that
 * each run a proxy (worker.ts), holds the one breaker per target that they all obey
 * (authority.ts), and is the single voice: `observed` is what one admin server renders, the
 * workers' counts summed (aggregate.ts). Workers that die or hang are replaced; the breakers'
 * state lives here and survives them.
 */
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { WorkerSnapshot } from '../admin/observed.js';
import type { BreakerControl } from '../proxy/control.js';
import type { ProxyOptions } from '../proxy/options.js';
import { Proxy, type HealthChangeInfo, type StateChangeInfo } from '../proxy/proxy.js';
import type { TlsCertificate } from '../proxy/server.js';
import type { ProxySnapshot, TargetSnapshot } from '../proxy/snapshot.js';
import { BreakerAuthority, type Peers } from './authority.js';
import { clusterSnapshot, Departed, zeroBreakerCounts } from './aggregate.js';
import { HEARTBEAT_TIMEOUT_MS, type HealthReport, type ToPrimary, type ToWorker, type WorkerConfig } from './protocol.js';

export interface ClusterOptions {
  /** Worker processes. */
  workers: number;
  /** What each worker's `createProxy()` gets. */
  proxy: ProxyOptions;
  /** @default 8080 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Ms the workers let requests in flight finish on `close()`. @default 10000 */
  drainTimeout?: number;
  /**
   * Serve HTTPS and HTTP/2 (by ALPN) in every worker with this PEM certificate and key, as
   * `proxy.listen(port, host, { tls })` does in one process; `setCertificate()` swaps it.
   */
  tls?: TlsCertificate;
  /** @internal The module each worker runs (the CLI's adds its logs); default: a worker without logs. */
  workerModule?: string;
  /** @internal The CLI's settings, passed to its worker module. */
  accessLog?: boolean;
  /** @internal */
  logFormat?: 'text' | 'json';
}

export type { WorkerSnapshot };

export interface ClusterEvents {
  stateChange: [StateChangeInfo];
  /** The cluster's health checks (run once, by the primary) took a target in or out of rotation. */
  healthChange: [HealthChangeInfo];
  /** A worker process exited when it was not asked to; `restartIn` ms until its replacement. */
  workerExit: [{ slot: number; pid: number | undefined; code: number | null; signal: string | null; restartIn: number }];
  /** A worker stopped sending its heartbeat and is killed. */
  workerHung: [{ slot: number; pid: number | undefined }];
}

class Member {
  readonly slot: number;
  worker: Worker;
  startedAt = performance.now();
  lastSeen = performance.now();
  listening = false;
  draining = false;
  restarts = 0;
  /** Quick deaths in a row, for the replacement backoff. */
  crashes = 0;
  snapshot: ProxySnapshot | undefined = undefined;
  inFlight = 0;

  constructor(slot: number, worker: Worker) {
    this.slot = slot;
    this.worker = worker;
  }
}

/** Replacement delay after quick deaths in a row: none for the first, then 100 ms doubling up to 10 s. */
export function restartDelay(crashes: number): number {
  return crashes <= 1 ? 0 : Math.min(100 * 2 ** Math.min(crashes - 2, 20), 10_000);
}
/** A worker that lived this long before dying was not crash-looping. */
const STABLE_MS = 5_000;

/** `name`.js next to `base` when compiled, else the .ts source (run under a TypeScript loader). */
export function moduleNextTo(base: string, name: string): string {
  const compiled = fileURLToPath(new URL(`./${name}.js`, base));
  return existsSync(compiled) ? compiled : fileURLToPath(new URL(`./${name}.ts`, base));
}

export class Cluster extends EventEmitter<ClusterEvents> {
  /** The bound port (the one node:cluster shares), once started. */
  port = 0;
  readonly #authority = new BreakerAuthority<Member>();
  readonly #proxy: Proxy;
  readonly #members: Member[] = [];
  readonly #departed = new Departed();
  readonly #config: WorkerConfig;
  #closing: Promise<void> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #rr = 0;
  /**
   * Events of the start (the first health verdicts come before the workers listen), held until
   * `start()` resolved: nobody could have subscribed to them yet.
   */
  #held: Array<() => void> | undefined = [];
  #started = false;
  /** What an admin server renders: the cluster's state and summed counts. */
  readonly observed: ClusterView;

  constructor(options: ClusterOptions) {
    super();
    // The primary's proxy never listens: its targets' breakers are the cluster's (and, with
    // `probePath`, its prober sends the cluster's synthetic probes).
    this.#proxy = new Proxy(options.proxy, { makeBreaker: this.#authority.makeBreaker });
    this.#authority.syntheticProbes = options.proxy.probePath !== undefined;
    this.#proxy.on('stateChange', (info) => {
      this.#authority.changed(info);
      this.#announce(() => this.emit('stateChange', info));
    });
    // The primary's proxy checks the targets' health, once for the cluster; workers follow it.
    this.#proxy.on('healthChange', (info) => {
      if (info.to !== 'unknown') this.#broadcast({ type: 'health', origin: info.target, status: info.to });
      this.#announce(() => this.emit('healthChange', info));
    });
    this.#config = {
      proxy: options.proxy,
      listen: { port: options.port ?? 8080, host: options.host ?? '127.0.0.1' },
      drainTimeout: options.drainTimeout ?? 10_000,
      ...(options.tls === undefined ? {} : { tls: pemOf(options.tls) }),
      workers: options.workers,
      accessLog: options.accessLog ?? false,
      logFormat: options.logFormat ?? 'text',
    };
    const peers: Peers<Member> = {
      send: (member, message) => this.#send(member, message),
      broadcast: (message) => this.#broadcast(message),
      next: (after) => this.#next(after),
    };
    this.#authority.connect(peers);
    this.observed = new ClusterView(this);
    this.#workerModule = options.workerModule ?? moduleNextTo(import.meta.url, 'worker-entry');
  }

  readonly #workerModule: string;

  /** Forks the workers; resolves once every one listens, rejects if one cannot. */
  start(): Promise<void> {
    cluster.setupPrimary({ exec: this.#workerModule, args: [] });
    const started: Array<Promise<void>> = [];
    for (let slot = 1; slot <= this.#config.workers; slot++) started.push(this.#fork(slot, undefined));
    this.#heartbeat = setInterval(() => this.#checkHeartbeats(), 1_000);
    this.#heartbeat.unref();
    return Promise.all(started).then(
      () => {
        this.#started = true;
        // Whoever awaited startCluster() subscribes in its continuation, before this runs.
        setImmediate(() => {
          const held = this.#held ?? [];
          this.#held = undefined;
          for (const emit of held) emit();
        });
      },
      async (error: unknown) => {
        await this.close(0);
        throw error;
      },
    );
  }

  #fork(slot: number, previous: Member | undefined): Promise<void> {
    const worker = cluster.fork();
    worker.on('error', ignore);
    const member = previous ?? new Member(slot, worker);
    if (previous === undefined) this.#members.push(member);
    else {
      member.worker = worker;
      member.restarts++;
      member.startedAt = performance.now();
      member.lastSeen = performance.now();
      member.listening = false;
      member.snapshot = undefined;
      member.inFlight = 0;
    }
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (message: ToPrimary) => {
        if (member.worker !== worker) return;
        member.lastSeen = performance.now();
        if (message.type === 'ready') {
          // Workers that listen on port 0 share one socket while any of them holds it; once none
          // does, a replacement would get a new random port, so from then on they name the port.
          if (this.port !== 0 && !this.#members.some((m) => m.listening)) this.#config.listen.port = this.port;
          this.#send(member, { type: 'start', config: this.#config, states: this.#authority.states(), health: this.#healthReports() });
        } else if (message.type === 'listening') {
          member.listening = true;
          // Later forks listen on the port actually bound: with port 0 and every worker gone, a
          // replacement would otherwise get a new random port.
          if (this.port === 0) this.port = message.port;
          this.#authority.arrived();
          resolve();
        } else if (message.type === 'listenFailed') {
          reject(Object.assign(new Error(message.message), { code: message.code }));
        } else this.#receive(member, message);
      });
      worker.once('exit', (code, signal) => {
        if (member.worker !== worker) return;
        const listened = member.listening;
        if (member.snapshot !== undefined) this.#departed.add(member.snapshot);
        member.snapshot = undefined;
        member.listening = false;
        this.#authority.departed(member);
        if (!this.#started) {
          // A worker that cannot start (the port is taken) will not do better when replaced.
          if (!listened) reject(new Error(`worker ${slot} exited (${signal ?? `code ${code}`}) before it listened`));
          return;
        }
        if (this.#closing !== undefined || member.draining) return;
        const lived = performance.now() - member.startedAt;
        member.crashes = lived < STABLE_MS ? member.crashes + 1 : 0;
        const restartIn = restartDelay(member.crashes);
        this.emit('workerExit', { slot, pid: worker.process.pid, code, signal, restartIn });
        setTimeout(() => {
          if (this.#closing === undefined) this.#fork(slot, member).catch(() => {});
        }, restartIn).unref();
      });
    });
  }

  #receive(member: Member, message: ToPrimary): void {
    switch (message.type) {
      case 'outcomes':
        return this.#authority.outcomes(member, message.origin, message.epoch, message.successes, message.slow, message.failure);
      case 'probe':
        return this.#authority.probe(member, message.origin, message.epoch, message.outcome, message.failure);
      case 'returned':
        return this.#authority.returned(member, message.origin, message.epoch, message.kept);
      case 'snapshot':
        member.snapshot = message.snapshot;
        member.inFlight = message.inFlight;
        return;
    }
  }

  #broadcast(message: ToWorker): void {
    for (const member of this.#members) this.#send(member, message);
  }

  #send(member: Member, message: ToWorker): void {
    const worker = member.worker;
    // A worker that is exiting closes its channel: the message is moot, and 'exit' follows.
    if (worker.isConnected()) worker.send(message, ignore);
  }

  #next(after: Member | undefined): Member | undefined {
    const ready = this.#members.filter((member) => member.listening && !member.draining);
    if (ready.length === 0) return undefined;
    const index = after === undefined ? this.#rr++ % ready.length : (ready.indexOf(after) + 1) % ready.length;
    return ready[index];
  }

  #checkHeartbeats(): void {
    const now = performance.now();
    for (const member of this.#members) {
      if (!member.listening || member.draining || now - member.lastSeen < HEARTBEAT_TIMEOUT_MS) continue;
      this.emit('workerHung', { slot: member.slot, pid: member.worker.process.pid });
      member.lastSeen = now;
      member.worker.process.kill('SIGKILL');
    }
  }

  /**
   * Swaps the certificate in every worker (and in those that start later): new TLS connections
   * get it, open ones keep theirs. Throws when Node cannot use the pair or the cluster was not
   * started with `tls`; nothing changes then.
   */
  setCertificate(certificate: TlsCertificate): void {
    if (this.#config.tls === undefined) throw new Error('setCertificate(): the cluster was not started with tls');
    const tls = pemOf(certificate);
    createSecureContext(tls);
    this.#config.tls = tls;
    this.#broadcast({ type: 'certificate', tls });
  }

  /** Swaps in new proxy options everywhere, breakers kept; throws `ConfigError` (nothing changed) when invalid. */
  reload(options: ProxyOptions): void {
    this.#proxy.reload(options);
    this.#config.proxy = options;
    this.#authority.syntheticProbes = options.probePath !== undefined;
    this.#broadcast({ type: 'reload', proxy: options });
    // Targets new in this configuration start CLOSED in every worker; no state to send.
  }

  #announce(emit: () => void): void {
    if (this.#held === undefined) emit();
    else this.#held.push(emit);
  }

  /** The health verdicts so far, for a worker that starts: it takes them instead of waiting for checks of its own. */
  #healthReports(): HealthReport[] {
    const reports: HealthReport[] = [];
    for (const { target, health } of this.#proxy.snapshot().targets) {
      if (health !== null && health.status !== 'unknown') reports.push({ origin: target, status: health.status });
    }
    return reports;
  }

  /** Client requests in flight over the workers, as of their last snapshots. */
  get inFlight(): number {
    return this.#members.reduce((sum, member) => sum + member.inFlight, 0);
  }

  /** The authoritative snapshot with the workers' counts summed in. */
  snapshot(): ProxySnapshot {
    const workers = this.#members.flatMap((member) => (member.snapshot === undefined ? [] : [member.snapshot]));
    return clusterSnapshot(this.#proxy.snapshot(), workers, this.#departed);
  }

  workers(): WorkerSnapshot[] {
    const now = performance.now();
    return this.#members.map((member) => ({
      slot: member.slot,
      pid: member.worker.process.pid,
      state: member.draining ? 'draining' : member.listening ? 'listening' : 'starting',
      requests: (member.snapshot?.targets ?? []).reduce((sum, target) => sum + sumRequests(target), 0),
      inFlight: member.inFlight,
      uptime: Math.round((now - member.startedAt) / 100) / 10,
      restarts: member.restarts,
    }));
  }

  /** @internal The primary's proxy, for `ClusterView`. */
  get authorityProxy(): Proxy {
    return this.#proxy;
  }

  /** @internal Publishes a manual action on `origin` to the workers. */
  controlled(origin: string, action: 'open' | 'close' | 'reset'): void {
    this.#authority.controlled(origin);
    if (action !== 'reset') return;
    // A reset clears the breaker's counts too, as in one process: in every worker, in the
    // snapshots they sent last (so that the answer shows it at once), and in those that exited.
    for (const member of this.#members) {
      this.#send(member, { type: 'resetCounts', origin });
      const target = member.snapshot?.targets.find((t) => t.target === origin);
      if (target !== undefined) zeroBreakerCounts(target.counts);
    }
    this.#departed.resetBreakerCounts(origin);
  }

  /**
   * Drains every worker (requests in flight finish, nothing new is accepted) and waits for them
   * to exit, at most `drainTimeout` and a little more; stragglers are killed.
   */
  close(drainTimeout = this.#config.drainTimeout): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#heartbeat);
      const exits = this.#members.map((member) => {
        const worker = member.worker;
        if (worker.process.exitCode !== null || worker.process.signalCode !== null) return Promise.resolve();
        member.draining = true;
        return new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          this.#send(member, { type: 'drain' });
          setTimeout(() => worker.process.kill('SIGKILL'), drainTimeout + 2_000).unref();
        });
      });
      await Promise.all(exits);
      this.#authority.close();
      await this.#proxy.close(0);
    })();
    return this.#closing;
  }
}

const ignore = (): void => {};

function sumRequests(target: TargetSnapshot): number {
  let sum = 0;
  for (const value of Object.values(target.requests)) sum += value;
  return sum;
}

/** The cluster as admin sees a proxy (`ObservedProxy`): snapshots, state changes, manual control. */
export class ClusterView {
  readonly #cluster: Cluster;
  readonly breakers: BreakerControl;

  constructor(cluster: Cluster) {
    this.#cluster = cluster;
    const act = (action: 'open' | 'close' | 'reset') => (origin: string): TargetSnapshot | undefined => {
      const done = cluster.authorityProxy.breakers[action](origin);
      if (done === undefined) return undefined;
      cluster.controlled(done.target, action);
      return this.snapshot().targets.find((target) => target.target === done.target);
    };
    this.breakers = { open: act('open'), close: act('close'), reset: act('reset') };
  }

  snapshot(): ProxySnapshot {
    return this.#cluster.snapshot();
  }

  workers(): WorkerSnapshot[] {
    return this.#cluster.workers();
  }

  on(event: 'stateChange', listener: (info: StateChangeInfo) => void): this {
    this.#cluster.on(event, listener);
    return this;
  }

  off(event: 'stateChange', listener: (info: StateChangeInfo) => void): this {
    this.#cluster.off(event, listener);
    return this;
  }
}

/** PEM as text: IPC messages are JSON, where a Buffer would arrive as an object. */
function pemOf(certificate: TlsCertificate): { cert: string; key: string } {
  const text = (pem: string | Buffer): string => (typeof pem === 'string' ? pem : pem.toString('latin1'));
  return { cert: text(certificate.cert), key: text(certificate.key) };
}
