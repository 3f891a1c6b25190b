/**
 * A table of 10,000 generated routes: the indexed lookup against a plain scan that applies the
 * precedence rules route by route, for many generated requests (fixed seed, so every run checks
 * the same requests).
 */
import * as assert from 'node:assert/strict';
import { before, after, test } from 'node:test';
import { resolveProxyOptions, type ResolvedRoute } from '../lib/proxy/options.js';
import { matchesPrefix, normalizeHost } from '../lib/proxy/path.js';
import { RouteTable, type Route } from '../lib/proxy/routes.js';
import { TargetRegistry } from '../lib/proxy/target.js';
import { seeded as random } from './support/random.js';

const ROUTES = 10_000;
const REQUESTS = 8_000;
const ORIGINS = ['http://127.0.0.1:3001', 'http://127.0.0.1:3002', 'http://127.0.0.1:3003'];
/** Few, short, overlapping segments, so that generated prefixes nest (/a, /a/b) and share starts (/a, /ab). */
const SEGMENTS = ['a', 'b', 'ab', 'api', 'v1', 'v10', 'x-y', '%C3%A9', '~u', 'svc'];
const HOSTS = Array.from({ length: 300 }, (_, i) => `h${i}.example.com`);


const next = random(14_7);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
const chance = (p: number): boolean => next() < p;

function randomPath(maxDepth: number): string {
  const depth = Math.floor(next() * (maxDepth + 1));
  let path = '';
  for (let i = 0; i < depth; i++) path += `/${chance(0.8) ? pick(SEGMENTS) : `s${Math.floor(next() * 3000)}`}`;
  return path;
}

/** Route `match` values: a catch-all, nested path prefixes, hosts alone and hosts with paths. */
function generateMatches(): string[] {
  const matches = new Set<string>(['/', '/a', '/a/b', '/a/b/c', 'h0.example.com', 'h0.example.com/a/b']);
  while (matches.size < ROUTES) {
    const path = randomPath(4);
    const roll = next();
    if (roll < 0.6) matches.add(path === '' ? `/s${Math.floor(next() * 1e6)}` : path);
    else if (roll < 0.75) matches.add(pick(HOSTS));
    else matches.add(`${pick(HOSTS)}${path}`); // `host` and `host/` are one route: only the first spelling
  }
  return [...matches];
}

/** Request paths as `normalizeRequestTarget` leaves them, plus the odd ones `match` may still get. */
function generatePath(matches: readonly string[]): string {
  const roll = next();
  if (roll < 0.05) return pick(['', '/', 'a', '/%2F', '/a/', '/a/b/', '/ab', '/a/bc']);
  if (roll < 0.5) {
    const match = pick(matches);
    const slash = match.indexOf('/');
    let path = slash === -1 ? '' : match.slice(slash);
    if (path === '/') path = '';
    const tail = next();
    if (tail < 0.25) return path === '' ? '/' : path;
    if (tail < 0.4) return `${path}/`;
    if (tail < 0.6) return `${path}${pick(SEGMENTS)}`; // runs on in the same segment: /a -> /aab
    if (tail < 0.7) return path.slice(0, Math.max(1, Math.floor(next() * path.length))); // cut anywhere
    if (tail < 0.8) return path.toUpperCase();
    return `${path}${randomPath(3)}/${chance(0.5) ? 'x' : ''}`;
  }
  const path = randomPath(6);
  return path === '' ? '/' : chance(0.2) ? `${path}/` : path;
}

function generateHost(): string {
  const roll = next();
  if (roll < 0.15) return pick(['', '[::1]:8080', '[::1]', 'localhost', 'unknown.example.com', 'h0.example.com.evil', 'example.com']);
  let host = chance(0.1) ? `h${300 + Math.floor(next() * 50)}.example.com` : pick(HOSTS);
  if (chance(0.2)) host = host.toUpperCase();
  if (chance(0.1)) host = `${host}.`;
  if (chance(0.2)) host = `${host}:${Math.floor(next() * 65535)}`;
  return host;
}

/** The precedence rules applied to each route in turn: the reference the index must agree with. */
function scan(routes: readonly Route[], host: string, path: string): Route | undefined {
  const wanted = normalizeHost(host);
  let best: Route | undefined;
  const rank = (config: ResolvedRoute) => [Number(config.host !== undefined), config.prefix.length] as const;
  for (const route of routes) {
    const { host: routeHost, prefix } = route.config;
    if (routeHost !== undefined && routeHost !== wanted) continue;
    if (!matchesPrefix(path, prefix)) continue;
    if (best === undefined) {
      best = route;
      continue;
    }
    const [hostRank, length] = rank(route.config);
    const [bestHostRank, bestLength] = rank(best.config);
    if (hostRank > bestHostRank || (hostRank === bestHostRank && length > bestLength)) best = route;
  }
  return best;
}

const registry = new TargetRegistry();
let matches: string[];
let table: RouteTable;
let inputOrder: Route[];

before(() => {
  matches = generateMatches();
  table = RouteTable.build(resolveProxyOptions({ routes: matches.map((match, i) => ({ match, targets: ORIGINS[i % ORIGINS.length]! })) }), registry);
  // The routes in the order they were configured, so the reference does not lean on the table's sort.
  const byName = new Map(table.routes.map((route) => [route.name, route]));
  inputOrder = matches.map((match) => byName.get(match)!);
});

after(() => {
  for (const target of registry.values()) target.close();
});

test('the generated table holds 10,000 routes: a catch-all, nested prefixes, hosts with and without paths', () => {
  assert.equal(table.routes.length, ROUTES);
  const configs = table.routes.map((route) => route.config);
  assert.ok(configs.some((c) => c.host === undefined && c.prefix === ''), 'a catch-all');
  assert.ok(configs.filter((c) => c.host === undefined && c.prefix.split('/').length > 3).length > 1000, 'path prefixes three segments deep or more');
  assert.ok(configs.filter((c) => c.host !== undefined && c.prefix === '').length >= 200, 'host routes without a path');
  assert.ok(configs.filter((c) => c.host !== undefined && c.prefix !== '').length > 1000, 'host routes with a path');
});

test('in a 10,000-route table the longest nested prefix wins and prefixes match whole segments', () => {
  const name = (host: string, path: string) => table.match(host, path)?.name;
  assert.equal(name('', '/a/b/c/zzz'), '/a/b/c');
  assert.equal(name('', '/a/b/c'), '/a/b/c');
  assert.equal(name('', '/a/b/'), '/a/b');
  assert.equal(name('', '/a/bzzz'), '/a');
  assert.equal(name('', '/zzz'), '/');
  assert.equal(name('', ''), '/');
});

test('in a 10,000-route table a host route beats any path route, and its longer prefix beats its shorter one', () => {
  const name = (host: string, path: string) => table.match(host, path)?.name;
  assert.equal(name('h0.example.com', '/a/b/c/zzz'), 'h0.example.com/a/b');
  assert.equal(name('H0.EXAMPLE.COM:8080', '/a/b'), 'h0.example.com/a/b');
  assert.equal(name('h0.example.com.', '/zzz'), 'h0.example.com');
  assert.equal(name('h0.example.com.evil', '/a/b/c'), '/a/b/c');
  assert.equal(name('[::1]:8080', '/a/b/c'), '/a/b/c');
});

test('in a 10,000-route table the index answers 8,000 generated requests as a scan of every route does', () => {
  const answered = { host: 0, anyHost: 0, root: 0, none: 0 };
  const disagreements: string[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const host = generateHost();
    const path = generatePath(matches);
    const expected = scan(inputOrder, host, path);
    const actual = table.match(host, path);
    if (actual !== expected && disagreements.length < 10) disagreements.push(`${JSON.stringify(host)} ${JSON.stringify(path)}: ${actual?.name} instead of ${expected?.name}`);
    if (expected === undefined) answered.none++;
    else if (expected.config.host !== undefined) answered.host++;
    else if (expected.config.prefix === '') answered.root++;
    else answered.anyHost++;
  }
  assert.deepEqual(disagreements, []);
  // The requests must reach every kind of answer, or the comparison proves little.
  for (const [kind, count] of Object.entries(answered)) {
    if (kind !== 'none') assert.ok(count > REQUESTS / 20, `${kind}: only ${count} of ${REQUESTS} requests`);
  }
});

test('without a catch-all, a 10,000-route table answers unmatched requests with no route, as a scan does', () => {
  const withoutRoot = new TargetRegistry();
  try {
    const rest = matches.filter((match) => match !== '/');
    const routes = RouteTable.build(resolveProxyOptions({ routes: rest.map((match) => ({ match, targets: ORIGINS[0]! })) }), withoutRoot);
    let unmatched = 0;
    for (let i = 0; i < REQUESTS / 4; i++) {
      const host = generateHost();
      const path = generatePath(rest);
      const expected = scan(routes.routes, host, path);
      assert.equal(routes.match(host, path), expected, `${JSON.stringify(host)} ${JSON.stringify(path)}`);
      if (expected === undefined) unmatched++;
    }
    assert.ok(unmatched > REQUESTS / 100, `only ${unmatched} requests matched no route`);
  } finally {
    for (const target of withoutRoot.values()) target.close();
  }
});
