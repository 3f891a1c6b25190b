/**
 * A problem the user has to fix: a flag, the config file, a port in use. The CLI prints its
 * message as one line (never a stack) and exits with `exitCode`: 2 for usage and configuration
 * errors, 1 for errors at run time.
 */
export class CliError extends Error {
  readonly exitCode: number;
  /** Whether the line ends with a pointer to `--help` (it helps with flags, not with a busy port). */
  readonly hint: boolean;

  constructor(message: string, { exitCode = 2, hint = exitCode === 2 }: { exitCode?: number; hint?: boolean } = {}) {
    super(message);
    this.exitCode = exitCode;
    this.hint = hint;
  }

  override get name(): string {
    return 'CliError';
  }
}
