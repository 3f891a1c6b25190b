/**
 * The CLI's entry: parse, then one of help, version, check, demo or serve. Every error ends here
 * as one line on stderr (a JSON object with --log-format json) and an exit code: 2 for bad flags
 * or config, 1 for a failure at run time.
 */
import { parseCliArgs, type LogFormat } from './args.js';
import { CliError } from './cli-error.js';
import { resolveCliConfig } from './config.js';
import { helpText, version } from './help.js';
import { Log } from './log.js';
import { describeError, logProcessProblems } from './process.js';
import { serve, type Io } from './serve.js';
import { routingTable } from './table.js';

export { version } from './help.js';

/** Runs the CLI; resolves to the exit code (undefined while a server keeps the process alive). */
export async function main(argv: readonly string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number | undefined> {
  const flags = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length);
  // Help first, even next to a bad flag: it is what that user needs.
  if (flags.includes('--help') || flags.includes('-h')) {
    io.stdout.write(helpText());
    return 0;
  }
  let log = new Log(sniffLogFormat(flags), io.stderr);
  try {
    const args = parseCliArgs(argv);
    if (args.version) {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    if (args.demo) {
      logProcessProblems(log);
      // Loaded only here: the proxy itself never needs the fixture upstream.
      const { runDemo } = await import('./demo.js');
      await runDemo(args, io, log);
      return undefined;
    }
    const config = resolveCliConfig(args);
    if (config.log.format !== log.format) log = new Log(config.log.format, io.stderr);
    if (args.check) {
      io.stdout.write(`${args.config}: OK\n${routingTable(config)}`);
      return 0;
    }
    logProcessProblems(log);
    await serve(args, config, io, log);
    return undefined;
  } catch (error) {
    if (error instanceof CliError) {
      log.fatal(error.message, error.hint);
      return error.exitCode;
    }
    log.fatal(`internal error: ${describeError(error)}`);
    return 1;
  }
}

/** The log format, known before parsing so that even a parse error comes out as JSON when asked. */
function sniffLogFormat(argv: readonly string[]): LogFormat {
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i] === '--log-format' ? argv[i + 1] : argv[i]!.startsWith('--log-format=') ? argv[i]!.slice('--log-format='.length) : undefined;
    if (value === 'json' || value === 'text') return value;
  }
  return 'text';
}
