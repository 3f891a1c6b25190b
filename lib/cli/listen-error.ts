/** The one line a CLI start prints when it cannot listen, for one process and for a cluster alike. */
import { CliError } from './cli-error.js';
import { httpUrl } from './table.js';

/** A listen failure as one line naming the address and, for the usual causes, what to do. */
export function listenError(error: unknown, host: string, port: number, what = ''): CliError {
  const code = (error as { code?: string }).code;
  const where = `${what}cannot listen on ${httpUrl(host, port).slice('http://'.length)}`;
  const why: Record<string, string> = {
    EADDRINUSE: 'address already in use (EADDRINUSE); stop the other server or pick another --port (0 picks a free one)',
    EACCES: 'permission denied (EACCES); ports below 1024 need privileges',
    EADDRNOTAVAIL: 'address not available (EADDRNOTAVAIL); --host must be an address of this machine',
    ENOTFOUND: 'unknown host name (ENOTFOUND)',
  };
  return new CliError(`${where}: ${(code !== undefined && why[code]) || (error as Error).message}`, { exitCode: 1 });
}
