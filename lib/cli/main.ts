import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HELP = `Usage: proxy-breaker --target URL [options]

An HTTP reverse proxy with a circuit breaker in front of every upstream target.

Options:
  -h, --help     show this help
  -v, --version  print the version
`;

/** The package's version, from the nearest package.json above this module (lib/ under tsx, dist/lib/ when built). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Runs the CLI; resolves to the exit code (undefined while a server keeps the process alive). */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  process.stderr.write('proxy-breaker: the proxy is not built yet; see --help\n');
  return 2;
}
