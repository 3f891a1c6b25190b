import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from './cli-helpers.js';

test('--help prints Usage, Options and Examples and exits 0', async (t) => {
  const { code, stdout, stderr } = await runCli(t, ['--help']);
  assert.equal(code, 0);
  assert.equal(stderr, '');
  for (const section of ['Usage:', 'Options:', 'Examples:']) assert.match(stdout, new RegExp(`^${section}`, 'm'));
  assert.match(stdout, /--failure-threshold N/);
});

test('--help wins over a bad flag next to it', async (t) => {
  const { code, stdout } = await runCli(t, ['--bogus', '-h']);
  assert.equal(code, 0);
  assert.match(stdout, /^Usage:/);
});

test('--version prints the package version and exits 0', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const { code, stdout } = await runCli(t, ['-v']);
  assert.equal(code, 0);
  assert.equal(stdout, `${version}\n`);
});
