/**
 * `npm run docs:options`: rewrites the option lists in README.md (and docs/*.md) from the option
 * tables, between markers `<!-- NAME:start -->` and `<!-- NAME:end -->`:
 *   options                the CLI flags: the same lines `--help` prints in its Options section
 *   proxy-options          createProxy()'s options (PROXY_OPTIONS)
 *   proxy-breaker-options  the proxy's `breaker` options (PROXY_BREAKER_OPTIONS)
 *   breaker-options        new CircuitBreaker()'s numeric options (BREAKER_OPTIONS)
 * README.md must hold `options`; the others are rewritten wherever they are found.
 * test/docs-options.test.ts fails when a block and the tables disagree.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BREAKER_OPTIONS } from '../lib/breaker/options.js';
import { optionLines } from '../lib/cli/options.js';
import type { Option, OptionTable } from '../lib/options.js';
import { PROXY_BREAKER_OPTIONS, PROXY_OPTIONS } from '../lib/proxy/options.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const README = join(ROOT, 'README.md');

const start = (name: string): string => `<!-- ${name}:start -->`;
const end = (name: string): string => `<!-- ${name}:end -->`;

/** The default as a table cell: a value in code quotes, a phrase as it is. */
function defaultCell(option: Option<unknown>): string {
  if (option.defaultText !== undefined) return option.defaultText;
  const value = option.default;
  if (value === undefined) return 'none';
  if (value === Infinity) return 'unlimited';
  return `\`${JSON.stringify(value)}\``;
}

function markdownTable(table: OptionTable, withType: boolean): string {
  const rows = Object.entries(table).map(([key, option]) => {
    const doc = option.perRoute === true ? `${option.doc}; also per route` : option.doc;
    const cells = [`\`${key}\``, ...(withType ? [`\`${option.type.replace(/\|/g, '\\|')}\``] : []), defaultCell(option), doc];
    return `| ${cells.join(' | ')} |`;
  });
  const head = withType ? '| option | type | default | |\n|---|---|---|---|' : '| option | default | |\n|---|---|---|';
  // Blank lines around the table: a table right after an HTML comment line may not render as one.
  return `\n\n${head}\n${rows.join('\n')}\n\n`;
}

/** What goes between each pair of markers. */
export const BLOCKS: Readonly<Record<string, () => string>> = {
  options: () => `\n\`\`\`\nOptions:\n${optionLines()}\n\`\`\`\n`,
  'proxy-options': () => markdownTable(PROXY_OPTIONS, true),
  'proxy-breaker-options': () => markdownTable(PROXY_BREAKER_OPTIONS, false),
  'breaker-options': () => markdownTable(BREAKER_OPTIONS, false),
};

/** The text between a pair of markers, or undefined when they are missing or out of order. */
export function currentBlock(text: string, name: string): string | undefined {
  const from = text.indexOf(start(name));
  const to = text.indexOf(end(name));
  if (from === -1 || to < from) return undefined;
  return text.slice(from + start(name).length, to);
}

/** The names of the blocks `text` holds. */
export function blocksIn(text: string): string[] {
  return Object.keys(BLOCKS).filter((name) => currentBlock(text, name) !== undefined);
}

/** `text` with every block it holds written from the tables. */
export function rewrite(text: string): string {
  let out = text;
  for (const name of blocksIn(text)) {
    const from = out.indexOf(start(name)) + start(name).length;
    out = out.slice(0, from) + BLOCKS[name]!() + out.slice(out.indexOf(end(name)));
  }
  return out;
}

/** README.md, and the docs/*.md files that hold a block. */
export function documentFiles(): string[] {
  const docs = join(ROOT, 'docs');
  const extra = existsSync(docs) ? readdirSync(docs).filter((name) => name.endsWith('.md')).map((name) => join(docs, name)) : [];
  return [README, ...extra.filter((file) => blocksIn(readFileSync(file, 'utf8')).length > 0)];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (currentBlock(readFileSync(README, 'utf8'), 'options') === undefined) {
    console.error(`README.md needs ${start('options')} and ${end('options')}, in that order`);
    process.exit(1);
  }
  for (const file of documentFiles()) {
    const before = readFileSync(file, 'utf8');
    const after = rewrite(before);
    if (after !== before) writeFileSync(file, after);
    console.log(`${file.slice(ROOT.length)}: ${after === before ? 'up to date' : 'rewritten'} (${blocksIn(before).join(', ')})`);
  }
}
