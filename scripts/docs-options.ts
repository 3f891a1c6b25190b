/**
 * `npm run docs:options`: rewrites the README's option list (between `<!-- options:start -->` and
 * `<!-- options:end -->`) from the option tables, as the same lines `--help` prints in its Options
 * section. test/docs-options.test.ts fails when the two disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { optionLines } from '../lib/cli/options.js';

export const START = '<!-- options:start -->';
export const END = '<!-- options:end -->';
export const README = fileURLToPath(new URL('../README.md', import.meta.url));

/** What goes between the markers. */
export function optionsBlock(): string {
  return `\n\`\`\`\nOptions:\n${optionLines()}\n\`\`\`\n`;
}

/** The text between the markers, or undefined when they are missing or out of order. */
export function currentBlock(readme: string): string | undefined {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end < start) return undefined;
  return readme.slice(start + START.length, end);
}

export function rewrite(readme: string): string {
  if (currentBlock(readme) === undefined) throw new Error(`README.md needs ${START} and ${END}, in that order`);
  const start = readme.indexOf(START) + START.length;
  return readme.slice(0, start) + optionsBlock() + readme.slice(readme.indexOf(END));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const before = readFileSync(README, 'utf8');
  const after = rewrite(before);
  if (after !== before) writeFileSync(README, after);
  console.log(after === before ? 'README.md option list is up to date' : 'README.md option list rewritten');
}
