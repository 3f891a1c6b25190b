/**
 * The process around a running proxy: SIGINT/SIGTERM drain and exit, SIGHUP reloads, and last
 * resort handlers so that even a bug ends in one log line (one JSON object with --log-format json).
 */
import type { Log } from './log.js';

/** How long requests in flight may take to finish after SIGINT/SIGTERM. */
export const DRAIN_MS = 10_000;

export interface StopOptions {
  log: Log;
  /** Stops accepting and drains; resolves when done. */
  stop: () => Promise<void>;
  /** Requests in flight now, for the shutdown message. */
  inFlight?: () => number;
  exit?: (code: number) => void;
}

/**
 * First SIGINT/SIGTERM: drain (bounded by `stop` itself), then exit 0. A second one exits 1 at
 * once, for the operator who will not wait.
 */
export function onStopSignals({ log, stop, inFlight = () => 0, exit = (code) => process.exit(code) }: StopOptions): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.event('warn', 'shutdown', `${signal} again: exiting without waiting for requests in flight`, { signal });
      exit(1);
      return;
    }
    stopping = true;
    const count = inFlight();
    log.event('info', 'shutdown', `${signal}: stopped accepting; waiting for ${count} request${count === 1 ? '' : 's'} in flight (up to ${DRAIN_MS / 1000} s); ${signal} again exits now`, {
      signal,
      inFlight: count,
    });
    stop().then(
      () => {
        log.event('info', 'stopped', 'stopped');
        exit(0);
      },
      (error: unknown) => {
        log.event('error', 'stopped', `stopped with an error: ${describeError(error)}`);
        exit(1);
      },
    );
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}

/** SIGHUP runs `reload` (nginx's habit). Installed only with a config file to reload. */
export function onReloadSignal(reload: () => void): void {
  process.on('SIGHUP', () => reload());
}

/**
 * A bug must still end in one log line and exit 1. Node's own warnings would otherwise print
 * several plain-text lines, which a JSON log cannot have.
 */
export function logProcessProblems(log: Log): void {
  process.on('uncaughtException', (error) => {
    log.fatal(`internal error: ${describeError(error)}`);
    process.exit(1);
  });
  if (log.format === 'json') {
    process.removeAllListeners('warning');
    process.on('warning', (warning) => log.event('warn', 'processWarning', `${warning.name}: ${warning.message}`));
  }
}

/** `TypeError: x is undefined at f (file.js:10:5)`: the message and the first frame, on one line. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const frame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '))?.trim();
  return `${error.name}: ${error.message}${frame === undefined ? '' : ` ${frame}`}`;
}
