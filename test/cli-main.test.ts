/** main() in-process, with its output captured: the paths that end without a server. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../lib/cli/main.js';
import { configFile } from './cli-helpers.js';

async function run(argv: string[]): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

test('main: --help and --version exit 0 on stdout', async () => {
  const help = await run(['-h']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage:\n/);
  assert.match(help.stdout, /^ {2}-t, --target URL {13}upstream origin/m);
  const version = await run(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test('main: a usage error is one line on stderr and exit 2', async () => {
  assert.deepEqual(await run(['--timeout', 'abc', '-t', 'http://127.0.0.1:9']), {
    code: 2, stdout: '', stderr: 'proxy-breaker: --timeout: expected a number > 0, got "abc" (see --help)\n',
  });
  const json = await run(['--bogus', '--log-format=json']);
  assert.equal(json.code, 2);
  assert.equal((JSON.parse(json.stderr) as { message: string }).message, '--bogus: unknown option');
});

test('main: --check prints the table; the file\'s log.format applies to its errors too', async (t) => {
  const file = configFile(t, { routes: [{ match: '/', targets: 'http://127.0.0.1:9' }], listen: { port: 0 }, admin: { port: 9090, token: 'x' }, log: { format: 'json' } });
  const { code, stdout, stderr } = await run(['--config', file, '--check']);
  assert.equal(code, 0);
  assert.equal(stderr, '');
  assert.match(stdout, /^listen {2}http:\/\/127\.0\.0\.1:0 \(a free port, picked at start\)$/m);
  assert.match(stdout, /^admin {3}http:\/\/127\.0\.0\.1:9090 \(token set\)$/m);
  assert.match(stdout, /^log {5}json$/m);
  assert.match(stdout, /^\/ +http:\/\/127\.0\.0\.1:9 +no +10000 ms +500-599 +0 +open after 5 failures, probe after 30000 ms \(up to 300000\)$/m);
});

test('main: the failure-rate rule shows in the table', async (t) => {
  const file = configFile(t, { targets: ['http://127.0.0.1:9', 'http://127.0.0.1:10'], breaker: { failureRate: 50 } });
  const { stdout } = await run(['--config', file, '--check', '--host', '::1']);
  assert.match(stdout, /^listen {2}http:\/\/\[::1\]:8080$/m);
  assert.match(stdout, /open after 5 failures, or 50% of >= 10 in 10000 ms/);
  assert.match(stdout, / 1 {8}open after/);
});
