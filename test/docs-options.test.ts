import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { helpText } from '../lib/cli/help.js';
import { optionLines } from '../lib/cli/options.js';
import { BLOCKS, blocksIn, currentBlock, documentFiles, README, rewrite } from '../scripts/docs-options.js';

test('README.md holds the CLI option list between its markers', () => {
  assert.ok(blocksIn(readFileSync(README, 'utf8')).includes('options'), 'README.md lacks <!-- options:start --> and <!-- options:end -->');
});

for (const file of documentFiles()) {
  const text = readFileSync(file, 'utf8');
  for (const name of blocksIn(text)) {
    test(`${file.slice(file.lastIndexOf('/') + 1)}: the ${name} block is what the option tables generate (npm run docs:options)`, () => {
      assert.equal(currentBlock(text, name), BLOCKS[name]!(), `stale: run npm run docs:options`);
    });
  }
}

test('--help prints the same option lines as the README block', () => {
  assert.ok(helpText().includes(`Options:\n${optionLines()}\n`));
  assert.ok(BLOCKS.options!().includes(`Options:\n${optionLines()}\n`));
});

test('the generator replaces only what is between the markers, and leaves other text alone', () => {
  const text = 'intro\n<!-- options:start -->\nold\n<!-- options:end -->\nmiddle\n<!-- breaker-options:start -->x<!-- breaker-options:end -->\n';
  assert.equal(
    rewrite(text),
    `intro\n<!-- options:start -->${BLOCKS.options!()}<!-- options:end -->\nmiddle\n<!-- breaker-options:start -->${BLOCKS['breaker-options']!()}<!-- breaker-options:end -->\n`,
  );
  assert.equal(rewrite('no markers'), 'no markers');
});

test('the library tables show each default and the type of each proxy option', () => {
  assert.match(BLOCKS['proxy-options']!(), /^\| `timeout` \| `number` \| `10000` \| call timeout: wait for response headers; also per route \|$/m);
  assert.match(BLOCKS['proxy-breaker-options']!(), /^\| `jitter` \| `0\.1` \| /m);
  assert.match(BLOCKS['breaker-options']!(), /^\| `jitter` \| `0` \| /m);
});
