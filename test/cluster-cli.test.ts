/** `--workers N|auto` and the config file's `workers`. */
import * as assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { parseCliArgs } from '../lib/cli/args.js';
import { resolveCliConfig } from '../lib/cli/config.js';
import { configFile, runCli, upstream } from './cli-helpers.js';

const TARGET = ['--target', 'http://127.0.0.1:9'];

test('one worker is the default: a single process, no cluster', () => {
  assert.equal(resolveCliConfig(parseCliArgs(TARGET)).workers, 1);
});

test('--workers auto is one worker per core the process may use', () => {
  assert.equal(resolveCliConfig(parseCliArgs([...TARGET, '--workers', 'auto'])).workers, availableParallelism());
});

test('--workers takes a whole number from 1 and names itself when it gets anything else', () => {
  assert.equal(resolveCliConfig(parseCliArgs([...TARGET, '--workers', '3'])).workers, 3);
  assert.throws(() => parseCliArgs([...TARGET, '--workers', '0']), /^CliError: --workers: expected an integer from 1 to 1024 or "auto", got 0$/);
  assert.throws(() => parseCliArgs([...TARGET, '--workers', 'many']), /--workers: expected an integer from 1 to 1024 or "auto"/);
});

test('workers in the config file is read, and the flag goes over it', (t) => {
  const file = configFile(t, { targets: ['http://127.0.0.1:9'], workers: 4 });
  assert.equal(resolveCliConfig(parseCliArgs(['--config', file])).workers, 4);
  assert.equal(resolveCliConfig(parseCliArgs(['--config', file, '--workers', '2'])).workers, 2);
});

test('--check validates workers in the config file', async (t) => {
  const good = configFile(t, { targets: ['http://127.0.0.1:9'], workers: 'auto' });
  assert.equal((await runCli(t, ['--config', good, '--check'])).code, 0);
  const bad = configFile(t, { targets: ['http://127.0.0.1:9'], workers: -1 }, 'bad.json');
  const run = await runCli(t, ['--config', bad, '--check']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /workers: expected an integer from 1 to 1024 or "auto", got -1/);
});

test('--demo runs in one process and refuses --workers', () => {
  assert.throws(() => parseCliArgs(['--demo', '--workers', '2']), /^CliError: --demo: runs in one process; drop --workers$/);
});

test('--workers 2 on a port in use exits 1 with one line naming the address', async (t) => {
  const taken = await upstream(t);
  const run = await runCli(t, ['--target', taken.url, '--workers', '2', '--port', String(taken.port)], 20_000);
  assert.equal(run.code, 1);
  assert.deepEqual(run.lines, [`proxy-breaker: cannot listen on 127.0.0.1:${taken.port}: address already in use (EADDRINUSE); stop the other server or pick another --port (0 picks a free one)`]);
});
