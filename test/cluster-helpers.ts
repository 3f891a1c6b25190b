/**
 * Helpers of the `cluster-*.test.ts` files (not a test file itself): the built CLI run with
 * `--workers 2` as the leader of its own process group (`node bin/proxy-breaker.js`, never npx),
 * killed with its whole group when the test ends, so that no worker outlives a test. Run
 * `npm run build` first: the bin and the workers run dist/.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { TestContext } from 'node:test';
import { BIN, type Exit } from './cli-helpers.js';
import { request, type Reply } from './support/http.js';
import { waitFor } from './support/wait.js';

/** Generous: a busy 2-core machine starts two node processes slowly. */
export const START_MS = 20_000;

export class ClusterCli {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  url = '';
  admin = '';

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [BIN, '--workers', '2', '-p', '0', '--admin-port', '0', ...args], { stdio: 'pipe', detached: true });
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
  }

  /** Waits for the listening and admin lines. */
  async started(): Promise<this> {
    await this.waitFor('stdout', /admin API, metrics and dashboard on (http:\/\/\S+)\//);
    this.url = this.stdout.match(/listening on (https?:\/\/\S+)/)![1]!;
    this.admin = this.stdout.match(/dashboard on (http:\/\/\S+)\//)![1]!;
    return this;
  }

  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeout = START_MS): Promise<void> {
    await waitFor(`${pattern} on ${stream}\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`, () => pattern.test(this[stream]) || this.child.exitCode !== null, timeout);
    if (!pattern.test(this[stream])) throw new Error(`the CLI exited before ${pattern}\n${this.stderr}`);
  }

  /** GET on the admin server, as JSON. */
  async adminJson<T>(path: string): Promise<T> {
    return (await request(`${this.admin}${path}`)).json() as T;
  }

  workers(): Promise<{ workers: Array<{ slot: number; pid: number; state: string; requests: number; restarts: number }> }> {
    return this.adminJson('/workers');
  }

  /** Polls the admin server until `check` holds. */
  async until(what: string, check: () => Promise<boolean>, timeout = START_MS): Promise<void> {
    const deadline = performance.now() + timeout;
    for (;;) {
      if (await check()) return;
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- stderr:\n${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** Starts `proxy-breaker --workers 2 ...`; its process group is killed when `t` ends. */
export async function startCluster(t: TestContext, args: readonly string[]): Promise<ClusterCli> {
  const cli = new ClusterCli(args);
  t.after(async () => {
    try {
      process.kill(-cli.child.pid!, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
    await cli.exited;
  });
  return cli.started();
}

/** A request on a fresh connection (`Connection: close`), so that the primary's round-robin alternates workers. */
export function get(url: string, timeout = 10_000): Promise<Reply> {
  return request(url, { timeout });
}

/** Sum of the `proxy_breaker_requests_total` series in a metrics text. */
export function requestsTotal(metrics: string): number {
  let sum = 0;
  for (const match of metrics.matchAll(/^proxy_breaker_requests_total\{[^}]*\} (\d+)$/gm)) sum += Number(match[1]);
  return sum;
}

export function control(cli: ClusterCli, origin: string, action: 'open' | 'close' | 'reset'): Promise<Reply> {
  return request(`${cli.admin}/breakers/${encodeURIComponent(origin)}/${action}`, { method: 'POST' });
}
