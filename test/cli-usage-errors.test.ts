/**
 * Every class of bad command line: exit 2 and exactly one line on stderr that names the flag
 * (or the problem) and points at --help. Never a stack trace, never output on stdout.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './cli-helpers.js';

const T = 'http://127.0.0.1:9';

const cases: Array<[string, string[], RegExp]> = [
  ['an unknown flag', ['--bogus', '-t', T], /--bogus: unknown option/],
  ['a target that is not a URL', ['--target', 'not-a-url'], /--target: "not-a-url" is not a URL/],
  ['a target with another scheme', ['--target', 'ftp://127.0.0.1'], /--target: "ftp:\/\/127\.0\.0\.1" is not an http\(s\) URL/],
  ['a negative number', ['-t', T, '--timeout', '-5'], /--timeout: expected a number > 0, got "-5"/],
  ['a non-numeric number', ['-t', T, '--failure-threshold', 'abc'], /--failure-threshold: expected an integer >= 1, got "abc"/],
  ['a fractional count', ['-t', T, '--retries', '1.5'], /--retries: expected an integer >= 0, got "1.5"/],
  ['a port out of range', ['-t', T, '--port', '70000'], /--port: expected an integer from 0 to 65535/],
  ['a bad status list', ['-t', T, '--failure-status', '5xx'], /--failure-status: "5xx"/],
  ['a malformed --route', ['--route', '/api'], /--route: expected MATCH=URL/],
  ['a --route with a bad match', ['--route', '/a?b=http://127.0.0.1:9'], /--route: path prefix/],
  ['no target, route, config or --demo', [], /no upstream: give --target URL/],
  ['--check without --config', ['--check', '-t', T], /--check: needs --config/],
  ['--target together with --config', ['--config', 'x.json', '-t', T], /--target: cannot be combined with --config/],
  ['--target together with --route', ['-t', T, '--route', `/a=${T}`], /--target: cannot be combined with --route/],
  ['a flag value missing', ['--target'], /--target: expected a value/],
  ['a value given to a switch', ['-t', T, '--insecure=yes'], /--insecure: takes no value/],
  ['a bare URL without --target', [T], /unexpected argument .*did you mean --target/],
  ['a duplicate target', ['-t', T, '-t', T], /--target: targets\[1\]: http:\/\/127\.0\.0\.1:9 is listed twice/],
  ['a reset timeout cap below the reset timeout', ['-t', T, '--reset-timeout-max', '10'], /--reset-timeout-max: expected >= resetTimeout/],
];

for (const [name, args, expected] of cases) {
  test(`${name} exits 2 with one line naming it`, async (t) => {
    const { code, stdout, lines } = await runCli(t, args);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^proxy-breaker: /);
    assert.match(lines[0]!, expected);
    assert.match(lines[0]!, /\(see --help\)$/);
  });
}

test('with --log-format json a usage error is one JSON object', async (t) => {
  const { code, lines } = await runCli(t, ['--log-format', 'json', '--bogus']);
  assert.equal(code, 2);
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(line.level, 'error');
  assert.equal(line.message, '--bogus: unknown option');
  assert.equal(typeof line.time, 'string');
});
