/**
 * The CLI's cluster worker (forked by `serveCluster`): a worker of lib/cluster whose proxy errors
 * go to stderr and whose access log goes to the stdout it shares with the other workers, in
 * whole-line writes that never mix (lib/cluster/line-output.ts). State changes are not logged
 * here: the primary logs each once.
 */
import { LineOutput } from '../cluster/line-output.js';
import { runWorker } from '../cluster/worker.js';
import { AccessLog } from './access-log.js';
import { Log } from './log.js';
import { logProcessProblems } from './process.js';

export function runCliWorker(): void {
  runWorker({
    started(proxy, config) {
      const log = new Log(config.logFormat, new LineOutput(process.stderr));
      logProcessProblems(log);
      proxy.on('proxyError', (info) => log.proxyError(info));
      proxy.on('error', (error) => log.event('error', 'internalError', `internal error, answered 500: ${(error as Error)?.message ?? String(error)}`));
      if (!config.accessLog) return undefined;
      const accessLog = new AccessLog(new LineOutput(process.stdout));
      proxy.on('response', (info) => accessLog.record(info));
      return accessLog;
    },
  });
}

runCliWorker();
