/**
 * Child processes of the bench: started pinned to a CPU, each with a log file, all of them
 * stopped at the end, on Ctrl-C and on errors. Only processes started here are ever signalled.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';

export function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** BENCHMARKING.md layout: load generator alone on cpu0, proxy + upstream together on cpu1. */
/**
 * Every CPU of the machine, read once at start: `availableParallelism()` follows this process's
 * affinity, so after pinSelf() it says 1, and `0-0` would pin "any" children to cpu0 alone.
 */
const ALL_CPUS = `0-${availableParallelism() - 1}`;

export const pinning = ((): { enabled: boolean; why: string } => {
  if (process.env.BENCH_NO_PIN === '1') return { enabled: false, why: 'BENCH_NO_PIN=1' };
  if (availableParallelism() < 2) return { enabled: false, why: 'fewer than 2 CPUs' };
  if (!has('taskset')) return { enabled: false, why: 'taskset not found (apt-get install util-linux)' };
  return { enabled: true, why: 'load generator on cpu0, servers on cpu1' };
})();

/** `any`: every CPU (the workers step), set explicitly because children inherit our pinning. */
export type Cpu = 'load' | 'server' | 'any';

function pinned(cpu: Cpu, command: string, args: readonly string[]): [string, string[]] {
  if (!pinning.enabled) return [command, [...args]];
  const list = cpu === 'load' ? '0' : cpu === 'server' ? '1' : ALL_CPUS;
  return ['taskset', ['-c', list, command, ...args]];
}

/** Lets a running process (and its threads) use every CPU: nginx in the workers step. */
export function unpin(pid: number): void {
  if (pinning.enabled) spawnSync('taskset', ['-a', '-p', '-c', ALL_CPUS, String(pid)], { stdio: 'ignore' });
}

/** Pins this process (the orchestrator, mostly asleep) beside the load generator. */
export function pinSelf(): void {
  if (pinning.enabled) spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
}

export const workDir = mkdtempSync(join(tmpdir(), 'proxy-breaker-bench-'));

const live = new Set<ChildProcess>();

/** The environment of server children: no loader flags inherited from whoever started us. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  log: string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  /** Everything written to stdout, kept for one-shot children (the load generator). */
  stdout(): string;
}

export function start(name: string, cpu: Cpu, command: string, args: readonly string[]): Child {
  const [cmd, argv] = pinned(cpu, command, args);
  // stdin stays an open pipe: our Node children exit when it closes, i.e. when we die.
  const proc = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv() });
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  live.add(proc);
  const log = join(workDir, `${name}.log`);
  const file = createWriteStream(log);
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    if (out.length < 1 << 20) out += chunk.toString();
    file.write(chunk);
  });
  proc.stderr.on('data', (chunk: Buffer) => file.write(chunk));
  proc.stdin.on('error', () => undefined);
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', () => live.delete(proc));
    // 'close' comes after 'exit' and after stdout has been read to the end.
    proc.once('close', (code, signal) => {
      live.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    });
    proc.once('error', (error) => {
      live.delete(proc);
      resolve(error.message);
    });
  });
  return { name, pid: proc.pid, proc, log, exited, stdout: () => out };
}

/** Starts a server child and waits for `ready` to match its stdout; resolves to the port in group 1. */
export async function startServer(name: string, command: string, args: readonly string[], ready: RegExp, timeoutMs = 15_000, cpu: Cpu = 'server'): Promise<Child & { port: number }> {
  const child = start(name, cpu, command, args);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not get ready in ${timeoutMs} ms (log: ${child.log})`)), timeoutMs);
    const onData = (): void => {
      const m = ready.exec(child.stdout());
      if (!m) return;
      clearTimeout(timer);
      child.proc.stdout?.off('data', onData);
      resolve(Number(m[1]));
    };
    child.proc.stdout?.on('data', onData);
    void child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready (log: ${child.log})`));
    });
  });
  return { ...child, port };
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A port nothing listens on right now (connections to it are refused). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(child: Child, graceMs = 3000): Promise<void> {
  if (!live.has(child.proc)) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await Promise.race([child.exited, sleep(graceMs + 2000)]);
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((proc) => {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    return new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve();
      proc.once('exit', () => resolve());
    }).finally(() => clearTimeout(timer));
  }));
}

export function removeWorkDir(): void {
  if (process.env.BENCH_KEEP_TMP === '1') return;
  rmSync(workDir, { recursive: true, force: true });
}

/** Children die with us: on Ctrl-C, SIGTERM, an uncaught error, or a plain exit. */
export function installCleanup(): void {
  const bail = (code: number) => (reason?: unknown): void => {
    if (reason instanceof Error) process.stderr.write(`bench: ${reason.stack ?? reason.message}\n`);
    else if (reason !== undefined && typeof reason !== 'string') process.stderr.write(`bench: ${String(reason)}\n`);
    void stopAll().finally(() => {
      removeWorkDir();
      process.exit(code);
    });
  };
  process.once('SIGINT', bail(130));
  process.once('SIGTERM', bail(143));
  process.once('uncaughtException', bail(1));
  process.once('unhandledRejection', bail(1));
  process.once('exit', () => {
    for (const proc of live) proc.kill('SIGKILL');
  });
}
