import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { helpText } from '../lib/cli/help.js';
import { optionLines } from '../lib/cli/options.js';
import { currentBlock, optionsBlock, README, rewrite } from '../scripts/docs-options.js';

test("the README's option list is the one the option tables generate (npm run docs:options)", () => {
  const block = currentBlock(readFileSync(README, 'utf8'));
  assert.notEqual(block, undefined, 'README.md lacks the <!-- options:start --> and <!-- options:end --> markers');
  assert.equal(block, optionsBlock(), 'README.md option list is stale: run npm run docs:options');
});

test('--help prints the same option lines as the README block', () => {
  assert.ok(helpText().includes(`Options:\n${optionLines()}\n`));
});

test('the generator replaces only what is between the markers', () => {
  const readme = 'intro\n<!-- options:start -->\nold\n<!-- options:end -->\noutro\n';
  assert.equal(rewrite(readme), `intro\n<!-- options:start -->${optionsBlock()}<!-- options:end -->\noutro\n`);
  assert.throws(() => rewrite('no markers'), /needs <!-- options:start -->/);
});
