/**
 * The documentation holds together: every relative link in README.md, docs/*.md and
 * bench/README.md points at a file of this repository (and, with an anchor, at a heading of it),
 * and the README stays short enough to read in five minutes.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const README_MAX_LINES = 350;

function documents(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name));
  return ['README.md', 'bench/README.md', ...docs];
}

/** The text outside fenced code blocks and inline code, where a `](...)` is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[^]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

interface Link {
  /** The document the link is in, relative to the repository root. */
  from: string;
  target: string;
}

/** Inline links and images, `[text](target)` and `[text](target "title")`, that are not URLs. */
function relativeLinks(from: string): Link[] {
  const text = prose(readFileSync(join(ROOT, from), 'utf8'));
  const links: Link[] = [];
  for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    links.push({ from, target });
  }
  return links;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const text = readFileSync(file, 'utf8').replace(/^(`{3,}|~{3,})[^\n]*\n[^]*?^\1[^\n]*$/gm, '');
  for (const match of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = match[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

function resolveLink({ from, target }: Link): { file: string; anchor: string | undefined } {
  const hash = target.indexOf('#');
  const path = hash === -1 ? target : target.slice(0, hash);
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file = path === '' ? join(ROOT, from) : resolve(ROOT, dirname(from), decodeURIComponent(path));
  return { file, anchor };
}

test('the documents checked here exist: README.md, bench/README.md and docs/*.md', () => {
  const names = documents();
  for (const name of ['README.md', 'bench/README.md', 'docs/configuration.md', 'docs/operations.md', 'docs/security.md', 'docs/internals.md']) {
    assert.ok(names.includes(name), `${name} is missing`);
  }
});

test('every relative link in the documentation points at an existing file inside the repository', () => {
  const broken: string[] = [];
  for (const name of documents()) {
    for (const link of relativeLinks(name)) {
      const { file } = resolveLink(link);
      const inside = relative(ROOT, file);
      if (inside.startsWith('..') || resolve(ROOT, inside) !== file) broken.push(`${link.from}: ${link.target} leaves the repository`);
      else if (!existsSync(file)) broken.push(`${link.from}: ${link.target} does not exist`);
    }
  }
  assert.deepEqual(broken, []);
});

test('every anchor in a relative link to a markdown file names a heading of that file', () => {
  const broken: string[] = [];
  for (const name of documents()) {
    for (const link of relativeLinks(name)) {
      const { file, anchor } = resolveLink(link);
      if (anchor === undefined || !file.endsWith('.md') || !existsSync(file) || !statSync(file).isFile()) continue;
      if (!anchors(file).has(anchor)) broken.push(`${link.from}: ${link.target} has no heading #${anchor}`);
    }
  }
  assert.deepEqual(broken, []);
});

test('the documentation names no absolute path of this machine', () => {
  const found: string[] = [];
  for (const name of documents()) {
    const lines = readFileSync(join(ROOT, name), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/(^|[\s(`'"])\/(work|home|tmp|root|Users)\//.test(line)) found.push(`${name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});

test(`README.md has at most ${README_MAX_LINES} lines`, () => {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length;
  assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines`);
});
