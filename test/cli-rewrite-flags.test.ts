/** The command-line switches of redirect rewriting and the Forwarded field. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCliArgs } from '../lib/cli/args.js';
import { optionLines } from '../lib/cli/options.js';

const T = 'http://127.0.0.1:3000';

test('--no-rewrite-redirects sets rewriteRedirects to false', () => {
  assert.equal(parseCliArgs(['-t', T, '--no-rewrite-redirects']).proxy.rewriteRedirects, false);
});

test('without --no-rewrite-redirects the command line leaves rewriteRedirects to its default', () => {
  assert.equal(parseCliArgs(['-t', T]).proxy.rewriteRedirects, undefined);
});

test('--forwarded sets forwarded', () => {
  assert.equal(parseCliArgs(['-t', T, '--forwarded']).proxy.forwarded, true);
});

test('--help describes --no-rewrite-redirects by what it does, without the default of the option it turns off', () => {
  const line = optionLines().split('\n').find((text) => text.includes('--no-rewrite-redirects'));
  assert.match(line ?? '', /--no-rewrite-redirects\s+relay a Location or Content-Location at the target's origin unchanged$/);
});
