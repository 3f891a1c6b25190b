/**
 * Shared helpers of the `cli-*.test.ts` files (not a test file itself): the built CLI run as a
 * child process (`node bin/proxy-breaker.js`, never npx: it does not forward signals), fixture
 * upstreams, config files in a temporary directory, and bounded requests. Every child is killed
 * and every file removed when its test ends. Run `npm run build` first: the bin imports dist/.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testCertificatePaths } from '../fixtures/certificate.js';
import { request, type Reply } from './support/http.js';
import { startedUpstream } from './support/servers.js';
import { waitFor } from './support/wait.js';

export const BIN = fileURLToPath(new URL('../bin/proxy-breaker.js', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running CLI: its output so far, and ways to wait for lines in it. */
export class Cli {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  #waiters = new Set<() => void>();

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [BIN, ...args], { stdio: 'pipe' });
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => this.#grow('stdout', chunk));
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => this.#grow('stderr', chunk));
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
  }

  #grow(stream: 'stdout' | 'stderr', chunk: string): void {
    this[stream] += chunk;
    for (const check of this.#waiters) check();
  }

  /** Resolves with the first match of `pattern` in `stream`; rejects after `timeout` ms or at exit. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeout = 5_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const check = (): void => {
        const match = this[stream].match(pattern);
        if (match !== null) {
          done();
          resolve(match);
        }
      };
      const fail = (why: string): void => {
        done();
        reject(new Error(`${why} waiting for ${pattern} on ${stream}\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`));
      };
      timer = setTimeout(() => fail(`timed out after ${timeout} ms`), timeout);
      this.#waiters.add(check);
      void this.exited.then(() => {
        if (this.#waiters.has(check)) {
          check();
          if (this.#waiters.has(check)) fail('the CLI exited');
        }
      });
      check();
    });
  }

  /** The proxy URL from the `listening on` line. */
  async url(timeout = 5_000): Promise<string> {
    return (await this.waitFor('stdout', /listening on (http:\/\/[^\s]+)/, timeout))[1]!;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Resolves with the exit; rejects (after killing the child) if it takes longer than `timeout`. */
  async exit(timeout = 5_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`the CLI did not exit within ${timeout} ms\n--- stderr:\n${this.stderr}`));
      }, timeout);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  stderrLines(): string[] {
    return this.stderr.split('\n').filter((line) => line !== '');
  }
}

/** Starts the CLI; it is killed when `t` ends if it is still running. */
export function startCli(t: TestContext, args: readonly string[]): Cli {
  const cli = new Cli(args);
  t.after(async () => {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGKILL');
      await cli.exited;
    }
  });
  return cli;
}

/** Runs the CLI to its end: for commands that exit by themselves. */
export async function runCli(t: TestContext, args: readonly string[], timeout = 5_000): Promise<Exit & { stdout: string; stderr: string; lines: string[] }> {
  const cli = startCli(t, args);
  const exit = await cli.exit(timeout);
  return { ...exit, stdout: cli.stdout, stderr: cli.stderr, lines: cli.stderrLines() };
}

/** A fixture upstream on 127.0.0.1 port 0, closed when `t` ends. */
export const upstream = startedUpstream;

/** Writes `content` (JSON.stringify'd unless a string) to a temporary file, removed when `t` ends. */
export function configFile(t: TestContext, content: unknown, name = 'proxy.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-breaker-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeConfig(file, content);
  return file;
}

/**
 * The test certificate copied into a temporary directory, for `--tls-cert`/`--tls-key`;
 * `renew()` overwrites both files with the second test certificate, as a renewal would.
 */
export function certificateFiles(t: TestContext): { cert: string; key: string; renew(): void } {
  const dir = dirname(configFile(t, {}));
  const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  const write = (from: { cert: string; key: string }): void => {
    copyFileSync(from.cert, files.cert);
    copyFileSync(from.key, files.key);
  };
  write(testCertificatePaths());
  return { ...files, renew: () => write(testCertificatePaths('second')) };
}

export function writeConfig(file: string, content: unknown): void {
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
}

export type { Reply };

/** One GET on a fresh connection, bounded by `timeout`. */
export function get(url: string, timeout = 3_000): Promise<Reply> {
  return request(url, { timeout });
}

/** Polls `condition` every 10 ms until it holds; throws after `timeout` ms. */
export function until(condition: () => boolean, timeout = 3_000): Promise<void> {
  return waitFor(String(condition), condition, timeout);
}

/** Removes, when `t` ends, the signal listeners an in-process test added (serve() and the demo add some). */
export function restoreSignals(t: TestContext): void {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
  t.after(() => {
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) if (!before.get(signal)!.includes(listener)) process.off(signal, listener);
    }
  });
}

/** An output that keeps what was written, for in-process runs. */
export function memoryOutput(): { write(chunk: string): boolean; text: string } {
  return {
    text: '',
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}
