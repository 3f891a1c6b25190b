/**
 * What the kernel says about our processes and the machine, read from /proc (Linux only; every
 * reader returns `undefined` rather than throwing when a file is missing or a process is gone).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';

/** Clock ticks per second of the utime/stime fields (`getconf CLK_TCK`, 100 nearly everywhere). */
export const CLK_TCK = ((): number => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const value = Number(out.stdout?.trim());
  return Number.isInteger(value) && value > 0 ? value : 100;
})();

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Fields of /proc/PID/stat after the `(comm)` field, which may itself contain spaces. */
function statFields(pid: number | 'self'): string[] | undefined {
  const text = read(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** utime+stime of every thread of the process, in clock ticks. */
export function cpuTicks(pid: number): number | undefined {
  const f = statFields(pid);
  // Fields 14 and 15 of proc(5); f[0] is field 3.
  return f === undefined ? undefined : Number(f[11]) + Number(f[12]);
}

/** utime+stime of this process plus cutime+cstime of its reaped children (wrk, once it exited). */
export function selfAndReapedTicks(): number {
  const f = statFields('self');
  if (f === undefined) return 0;
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

export function ticksToMicros(ticks: number): number {
  return (ticks * 1e6) / CLK_TCK;
}

/** VmRSS and VmHWM in MiB. */
export function memory(pid: number): { rss: number; hwm: number } | undefined {
  const text = read(`/proc/${pid}/status`);
  if (text === undefined) return undefined;
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** Resets VmHWM to the current RSS (proc(5): writing 5 to clear_refs). Returns whether it could. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Direct children of a process (nginx's worker under its master). */
export function childPids(pid: number): number[] {
  const listed = read(`/proc/${pid}/task/${pid}/children`);
  if (listed !== undefined) return listed.trim().split(/\s+/).filter(Boolean).map(Number);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (Number(statFields(Number(entry))?.[1]) === pid) found.push(Number(entry));
  }
  return found;
}

/**
 * The process and all its descendants (a cluster's primary and workers). Children are listed per
 * thread (/proc/PID/task/TID/children), so every thread's list is read, not only the main one's.
 */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    const parent = tree[i]!;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const listed = read(`/proc/${parent}/task/${tid}/children`);
      if (listed === undefined) {
        for (const child of childPids(parent)) if (!tree.includes(child)) tree.push(child);
        break;
      }
      for (const child of listed.trim().split(/\s+/).filter(Boolean).map(Number)) if (!tree.includes(child)) tree.push(child);
    }
  }
  return tree;
}

export interface SystemCpu {
  /** user+nice+system+irq+softirq ticks over all CPUs. */
  busy: number;
  steal: number;
}

export function systemCpu(): SystemCpu {
  const line = read('/proc/stat')?.split('\n', 1)[0] ?? '';
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.split(/\s+/).map(Number);
  return { busy: user + nice + system + irq + softirq, steal };
}

export interface SocketCount {
  /** TCP sockets of the process connected to the port. */
  total: number;
  /** ESTABLISHED ones. */
  established: number;
  /**
   * Ones with bytes queued in either direction: an idle keep-alive socket has none, a response
   * nobody reads any more (paused, its client gone) keeps its data here.
   */
  queued: number;
}

/** Counts the process's TCP sockets whose peer is `remotePort` (/proc/PID/fd + /proc/net/tcp). */
export function socketsTo(pid: number, remotePort: number): SocketCount | undefined {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed while we looked
      }
    }
  } catch {
    return undefined;
  }
  const count: SocketCount = { total: 0, established: 0, queued: 0 };
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = read(table)?.split('\n').slice(1) ?? [];
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      const port = parseInt(f[2]!.split(':')[1] ?? '', 16);
      if (port !== remotePort) continue;
      count.total++;
      if (f[3] === '01') count.established++;
      const [tx = '0', rx = '0'] = f[4]!.split(':');
      if (parseInt(tx, 16) > 0 || parseInt(rx, 16) > 0) count.queued++;
    }
  }
  return count;
}

/**
 * Times a fixed busy loop (ms). Slower than usual means the host is slowing us down, which no
 * counter inside the machine shows (BENCHMARKING.md, gating).
 */
export function busyLoopMs(): number {
  const start = process.hrtime.bigint();
  let x = 0x9e3779b9;
  for (let i = 0; i < 4_000_000; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return x === 0 ? ms + 1e-9 : ms; // keep x alive
}

export function cpuModel(): string {
  return /^model name\s*:\s*(.+)$/m.exec(read('/proc/cpuinfo') ?? '')?.[1]?.trim() ?? 'unknown';
}
