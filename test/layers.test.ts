/**
 * The import graph of lib/: each layer knows only the layers below it, and no module loads
 * another that (directly or not) loads it back. Read from the source text, so a forbidden import
 * fails here before it can shape the published types.
 */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LIB = join(ROOT, 'lib');

/**
 * What each folder of lib/ may import from the others (single files at the top of lib/, like
 * errors.ts and validate.ts, are the bottom layer and may be imported by all). `index.ts`, the
 * public surface, may import anything.
 */
const ALLOWED: Record<string, readonly string[]> = {
  http1: [],
  breaker: [],
  proxy: ['http1', 'breaker'],
  admin: ['proxy', 'breaker'],
  cluster: ['proxy', 'breaker', 'admin'],
  cli: ['proxy', 'breaker', 'admin', 'cluster', 'http1'],
};

interface Import {
  from: string;
  to: string;
  /** `import type` / `export type`, or every name marked `type`: erased at run time. */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const STATIC = /^\s*(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+'([^']+)'/gms;
const DYNAMIC = /\bimport\(\s*'([^']+)'\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const from = relative(LIB, file);
  const found: Import[] = [];
  const add = (specifier: string, typeOnly: boolean): void => {
    if (!specifier.startsWith('.')) return;
    found.push({ from, to: relative(LIB, resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))), typeOnly });
  };
  for (const match of text.matchAll(STATIC)) {
    const names = /^\{([^}]*)\}$/.exec(match[2]!.trim())?.[1]?.split(',').map((name) => name.trim()).filter(Boolean);
    const everyNameIsType = names !== undefined && names.length > 0 && names.every((name) => name.startsWith('type '));
    add(match[3]!, match[1] !== undefined || everyNameIsType);
  }
  for (const match of text.matchAll(DYNAMIC)) add(match[1]!, false);
  return found;
}

const layerOf = (path: string): string | undefined => (path.includes('/') ? path.slice(0, path.indexOf('/')) : undefined);

const IMPORTS = sourceFiles(LIB).flatMap(importsOf);

test('the import parser sees the imports it must judge (a broken parser would pass everything)', () => {
  assert.ok(IMPORTS.some((i) => i.from === 'proxy/forward.ts' && i.to === 'http1/connection.ts'), 'forward.ts imports the connection');
  assert.ok(IMPORTS.some((i) => i.from === 'admin/server.ts' && i.to.startsWith('proxy/')), 'admin imports the proxy layer');
  assert.ok(IMPORTS.some((i) => i.typeOnly) && IMPORTS.some((i) => !i.typeOnly), 'both kinds are told apart');
});

test('every layer imports only the layers below it (types too: a layer knows nothing above it)', () => {
  const wrong = IMPORTS.filter(({ from, to }) => {
    const a = layerOf(from);
    const b = layerOf(to);
    if (a === undefined || b === undefined || a === b) return false;
    return !(ALLOWED[a] ?? []).includes(b);
  });
  assert.deepEqual(wrong.map(({ from, to }) => `${from} -> ${to}`), []);
});

test('the bottom files (errors, validate, options, deadlines) import no layer', () => {
  const wrong = IMPORTS.filter(({ from, to }) => layerOf(from) === undefined && from !== 'index.ts' && layerOf(to) !== undefined);
  assert.deepEqual(wrong.map(({ from, to }) => `${from} -> ${to}`), []);
});

test('no module loads itself back at run time: the graph of value imports has no cycle', () => {
  const graph = new Map<string, string[]>();
  for (const { from, to, typeOnly } of IMPORTS) {
    if (typeOnly) continue;
    graph.set(from, [...(graph.get(from) ?? []), to]);
  }
  const visiting = new Set<string>();
  const done = new Set<string>();
  const cycles: string[] = [];
  const visit = (node: string, path: string[]): void => {
    visiting.add(node);
    for (const next of graph.get(node) ?? []) {
      if (visiting.has(next)) cycles.push([...path.slice(path.indexOf(next)), next].join(' -> '));
      else if (!done.has(next)) visit(next, [...path, next]);
    }
    visiting.delete(node);
    done.add(node);
  };
  for (const node of graph.keys()) if (!done.has(node)) visit(node, [node]);
  assert.deepEqual(cycles, []);
});
