/**
 * The upstream the proxies forward to: a 1-worker nginx configured from bench/nginx.conf when
 * nginx is installed, else the project's Node fixture (fixtures/, transpiled into the dist
 * snapshot). The slow scenario always uses the fixture's `slow` mode.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childPids, cpuTicks } from './stats.js';
import { freePort, has, start, startServer, stop, waitForPort, workDir, type Child } from './procs.js';

export interface Upstream {
  kind: 'nginx' | 'node';
  version: string;
  port: number;
  url: string;
  /** The processes that serve requests (nginx's worker, not its master), for CPU per request. */
  servingPids(): number[];
  /** Every process of the upstream, to tell our CPU from the rest of the machine's. */
  allPids(): number[];
  /** `gib`: one 1 GiB response, for the memory step (bench/memory.ts). */
  paths: { small: string; download: string; upload: string; gib: string };
  child: Child;
  stop(): Promise<void>;
}

const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

async function startNginx(): Promise<Upstream> {
  const dir = join(workDir, 'nginx');
  mkdirSync(join(dir, 'www'), { recursive: true });
  writeFileSync(join(dir, '1m.bin'), Buffer.alloc(MiB, 'x'));
  // Sparse: 1 GiB of zeros that takes no disk (reading it fills reclaimable page cache only).
  writeFileSync(join(dir, '1g.bin'), '');
  truncateSync(join(dir, '1g.bin'), GiB);
  // A file for the static handler to refuse the POST on (405 -> error_page -> 200), see nginx.conf.
  writeFileSync(join(dir, 'www', 'upload'), 'ok\n');
  const port = await freePort();
  const template = readFileSync(fileURLToPath(new URL('./nginx.conf', import.meta.url)), 'utf8');
  // As root the workers would otherwise switch to `nobody`, who cannot read the tmpdir.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  const conf = template.replaceAll('{{USER}}', user).replaceAll('{{DIR}}', dir).replaceAll('{{PORT}}', String(port));
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const version = spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim().replace(/^nginx version:\s*/, '') || 'nginx';
  const child = start('nginx', 'server', 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')]);
  await Promise.race([
    waitForPort(port),
    child.exited.then((code) => {
      throw new Error(`nginx exited (${code}); see ${child.log} and ${join(dir, 'error.log')}`);
    }),
  ]);
  let workers: number[] = [];
  for (let i = 0; i < 50 && workers.length === 0; i++) {
    workers = childPids(child.pid).filter((pid) => cpuTicks(pid) !== undefined);
    if (workers.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    kind: 'nginx',
    version,
    port,
    url: `http://127.0.0.1:${port}`,
    servingPids: () => workers,
    allPids: () => [child.pid, ...workers],
    paths: { small: '/small', download: '/1m', upload: '/upload', gib: '/1g' },
    child,
    stop: () => stop(child),
  };
}

/** The project's fixture upstream, from the dist snapshot. `slowMs` starts it in `slow` mode. */
export async function startFixture(distDir: string, slowMs?: number): Promise<Upstream> {
  const args = [join(distDir, 'fixtures', 'upstream-cli.js'), '--port', '0'];
  if (slowMs !== undefined) args.push('--mode', JSON.stringify({ type: 'slow', delay: slowMs }));
  const child = await startServer(slowMs === undefined ? 'fixture' : 'fixture-slow', process.execPath, args, /listening on http:\/\/127\.0\.0\.1:(\d+)/);
  return {
    kind: 'node',
    version: `Node fixture (fixtures/upstream.ts) on ${process.version}`,
    port: child.port,
    url: `http://127.0.0.1:${child.port}`,
    servingPids: () => [child.pid],
    allPids: () => [child.pid],
    // `/upload` is not a fixture route: a POST there is read in full and answered with a JSON echo.
    paths: { small: '/bytes/5', download: `/bytes/${MiB}`, upload: '/upload', gib: `/bytes/${GiB}` },
    child,
    stop: () => stop(child),
  };
}

/** nginx when installed (and not BENCH_UPSTREAM=node), else the Node fixture. */
export function startUpstream(distDir: string): Promise<Upstream> {
  if (process.env.BENCH_UPSTREAM !== 'node' && has('nginx')) return startNginx();
  return startFixture(distDir);
}
