/**
 * `GET /metrics` and `renderMetrics()`, read by a strict parser of the Prometheus text format 0.0.4
 * written here against the spec (https://prometheus.io/docs/instrumenting/exposition_formats/),
 * so a formatting mistake fails a test instead of a scrape.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeLabelValue, formatValue } from '../lib/admin/metrics.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../lib/admin/index.js';
import { createProxy } from '../lib/index.js';
import { LATENCY_BUCKETS, OUTCOMES } from '../lib/proxy/target.js';
import { fetchText, hit, stack, trip } from './admin-helpers.js';

// --- the parser ------------------------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help: string | undefined;
  type: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
/** Go's ParseFloat as Prometheus uses it: decimal or exponent floats, Inf, NaN. */
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf|NaN)$/;

function parseFloatStrict(text: string, where: string): number {
  if (!FLOAT.test(text)) throw new Error(`${where}: ${JSON.stringify(text)} is not a float`);
  if (/^[+-]?Inf$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** Reads `{name="value",...}` from `line` at `i` (just after `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, start: number, where: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start;
  for (;;) {
    if (line[i] === '}') return [labels, i + 1];
    const eq = line.indexOf('=', i);
    if (eq === -1) throw new Error(`${where}: label without '='`);
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name.startsWith('__')) throw new Error(`${where}: reserved label name ${name}`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: duplicate label ${name}`);
    if (line[eq + 1] !== '"') throw new Error(`${where}: label value must be quoted`);
    let value = '';
    i = eq + 2;
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const next = line[i + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new Error(`${where}: invalid escape \\${next ?? ''} in label value`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[name] = value;
    i++;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`${where}: expected ',' or '}' after a label`);
  }
}

/** The family a sample belongs to: histograms own `_bucket`, `_sum`, `_count`. */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (families.get(base)?.type === 'histogram') return base;
    }
  }
  return name;
}

function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the text must end with a line feed');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: string | undefined;
  const enter = (name: string, where: string): Family => {
    if (current !== name) {
      if (closed.has(name)) throw new Error(`${where}: lines of ${name} are not one group`);
      if (current !== undefined) closed.add(current);
      current = name;
    }
    let family = families.get(name);
    if (family === undefined) families.set(name, (family = { name, help: undefined, type: 'untyped', samples: [] }));
    return family;
  };
  text.slice(0, -1).split('\n').forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (match === null) return; // a plain comment
      const [, keyword, name, rest = ''] = match as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      const family = enter(name, where);
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        if (/\\[^\\n]|\\$/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: invalid escape in HELP`);
        family.help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      } else {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
        if (family.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        if (family.type !== 'untyped' || seen.has(`type:${name}`)) throw new Error(`${where}: second TYPE for ${name}`);
        seen.add(`type:${name}`);
        family.type = rest;
      }
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`${where}: no metric name`);
    const name = line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === '{') [labels, i] = parseLabels(line, i + 1, where);
    if (line[i] !== ' ') throw new Error(`${where}: expected a space before the value`);
    const fields = line.slice(i + 1).split(' ');
    if (fields.length > 2 || fields[0] === '') throw new Error(`${where}: expected 'value [timestamp]'`);
    const value = parseFloatStrict(fields[0]!, where);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) throw new Error(`${where}: bad timestamp`);
    const family = enter(familyOf(name, families), where);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`${where}: duplicate sample ${key}`);
    seen.add(key);
    if (family.type === 'counter' && (value < 0 || Number.isNaN(value))) throw new Error(`${where}: counter ${name} is ${value}`);
    if (family.type === 'histogram' && name.endsWith('_bucket') && labels.le === undefined) throw new Error(`${where}: bucket without le`);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** Buckets per series: `le` increasing, counts cumulative, `+Inf` last, and `_count` equal to it. */
function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let entry = series.get(key);
    if (entry === undefined) series.set(key, (entry = { buckets: [] }));
    if (sample.name === `${family.name}_bucket`) entry.buckets.push([parseFloatStrict(le!, `le of ${family.name}`), sample.value]);
    else if (sample.name === `${family.name}_sum`) entry.sum = sample.value;
    else if (sample.name === `${family.name}_count`) entry.count = sample.value;
    else throw new Error(`${sample.name} does not belong to histogram ${family.name}`);
  }
  for (const [key, entry] of series) {
    const { buckets } = entry;
    if (buckets.length === 0 || buckets.at(-1)![0] !== Infinity) throw new Error(`${family.name}${key}: buckets must end with le="+Inf"`);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]![0] > buckets[i - 1]![0])) throw new Error(`${family.name}${key}: le not increasing`);
      if (buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${family.name}${key}: buckets not cumulative`);
    }
    if (entry.sum === undefined || entry.count === undefined) throw new Error(`${family.name}${key}: missing _sum or _count`);
    if (entry.count !== buckets.at(-1)![1]) throw new Error(`${family.name}${key}: _count ${entry.count} != +Inf bucket ${buckets.at(-1)![1]}`);
  }
}

function sampleValue(families: Map<string, Family>, family: string, name: string, labels: Record<string, string>): number | undefined {
  return families
    .get(family)
    ?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

// --- the parser itself -----------------------------------------------------------------------

const HIST = '# TYPE h histogram\n';

test('the parser accepts a valid exposition with escapes, comments, timestamps and special values', () => {
  const text =
    '# a comment\n# HELP m A \\\\ help\\nline\n# TYPE m gauge\nm{a="x\\"y\\\\z\\n",b="2",} +Inf 1700000000000\nm NaN\n\n' +
    `${HIST}h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1.5e0\nh_count 2\n`;
  const families = parseExposition(text);
  assert.equal(families.get('m')!.help, 'A \\ help\nline');
  assert.deepEqual(families.get('m')!.samples[0]!.labels, { a: 'x"y\\z\n', b: '2' });
  assert.equal(families.get('m')!.samples[0]!.value, Infinity);
  assert.equal(families.get('h')!.samples.length, 4);
});

test('the parser rejects what the format forbids', () => {
  const bad: [string, RegExp][] = [
    ['m 1', /line feed/],
    ['# TYPE m gauge\nm{a="\\t"} 1\n', /invalid escape/],
    ['# TYPE m gauge\nm{a=1} 1\n', /quoted/],
    ['# TYPE m gauge\nm{1a="x"} 1\n', /bad label name/],
    ['# TYPE m gauge\nm{__a="x"} 1\n', /reserved/],
    ['# TYPE m gauge\nm{a="x",a="y"} 1\n', /duplicate label/],
    ['# TYPE m gauge\nm{a="x"} one\n', /not a float/],
    ['# TYPE m gauge\nm{a="x} 1\n', /unterminated|expected/],
    ['# TYPE m gauge\nm 1\nm 2\n', /duplicate sample/],
    ['# TYPE m gauge\nm 1\n# TYPE m gauge\n', /second TYPE|TYPE after/],
    ['m 1\n# TYPE m gauge\n', /TYPE after samples/],
    ['# TYPE m gauge\n# TYPE n gauge\nn 1\nm 1\n', /not one group/],
    ['# TYPE m teapot\n', /unknown type/],
    ['# TYPE m counter\nm -1\n', /counter/],
    ['# TYPE 9m gauge\n', /bad metric name/],
    ['# TYPE m gauge\nm 1 2 3\n', /value \[timestamp\]/],
    [`${HIST}h_bucket{le="1"} 1\nh_sum 1\nh_count 1\n`, /\+Inf/],
    [`${HIST}h_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n`, /cumulative/],
    [`${HIST}h_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n`, /increasing/],
    [`${HIST}h_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n`, /_count/],
    [`${HIST}h_bucket{le="+Inf"} 2\nh_count 2\n`, /missing _sum/],
  ];
  for (const [text, error] of bad) assert.throws(() => parseExposition(text), error, JSON.stringify(text));
});

// --- the metrics ----------------------------------------------------------------------------

test('label values escape backslash, double quote and line feed, and nothing else', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd\te'), 'a\\\\b\\"c\\nd\te');
  const [family] = parseExposition(`# TYPE m gauge\nm{v="${escapeLabelValue('a\\b"c\nd')}"} 1\n`).values();
  assert.equal(family!.samples[0]!.labels.v, 'a\\b"c\nd');
});

test('sample values use the spellings the format defines for infinities and NaN', () => {
  assert.deepEqual([Infinity, -Infinity, NaN, 0.25, 3].map(formatValue), ['+Inf', '-Inf', 'NaN', '0.25', '3']);
});

test('GET /metrics answers the 0.0.4 content type and a text that parses strictly', async (t) => {
  const s = await stack(t);
  await hit(s.proxyUrl, 2);
  const reply = await fetchText(`${s.admin.url}/metrics`);
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-type'], METRICS_CONTENT_TYPE);
  assert.equal(METRICS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
  const families = parseExposition(reply.text);
  const expected: Record<string, string> = {
    proxy_breaker_requests_total: 'counter',
    proxy_breaker_state: 'gauge',
    proxy_breaker_transitions_total: 'counter',
    proxy_breaker_rejections_total: 'counter',
    proxy_breaker_in_flight: 'gauge',
    proxy_breaker_upstream_connections: 'gauge',
    proxy_breaker_upstream_connections_opened_total: 'counter',
    proxy_breaker_upstream_duration_seconds: 'histogram',
    proxy_breaker_slow_calls_total: 'counter',
    proxy_breaker_health: 'gauge',
    proxy_breaker_health_in_rotation: 'gauge',
    proxy_breaker_health_checks_total: 'counter',
    proxy_breaker_status_retries_total: 'counter',
  };
  assert.deepEqual(Object.fromEntries([...families.values()].map((f) => [f.name, f.type])), expected);
  for (const family of families.values()) assert.ok(family.help !== undefined && family.help.length > 0, `${family.name} has HELP`);
});

test('the metrics count outcomes, state, transitions, rejections and latency of each target', async (t) => {
  const s = await stack(t);
  const target = { target: s.upstream.url };
  await hit(s.proxyUrl, 2);
  await trip(s);
  assert.deepEqual(await hit(s.proxyUrl, 2), [503, 503]);
  const families = parseExposition(renderMetrics(s.proxy));
  const requests = (outcome: string): number | undefined =>
    sampleValue(families, 'proxy_breaker_requests_total', 'proxy_breaker_requests_total', { ...target, outcome });
  assert.equal(requests('success'), 2);
  assert.equal(requests('failure_status'), 3);
  assert.equal(requests('rejected'), 2);
  assert.deepEqual(
    families.get('proxy_breaker_requests_total')!.samples.map((sample) => sample.labels.outcome),
    [...OUTCOMES],
  );
  const state = (name: string): number | undefined => sampleValue(families, 'proxy_breaker_state', 'proxy_breaker_state', { ...target, state: name });
  assert.deepEqual([state('CLOSED'), state('OPEN'), state('HALF_OPEN')], [0, 1, 0]);
  const transitions = (from: string, to: string): number | undefined =>
    sampleValue(families, 'proxy_breaker_transitions_total', 'proxy_breaker_transitions_total', { ...target, from, to });
  assert.equal(transitions('CLOSED', 'OPEN'), 1);
  assert.equal(transitions('HALF_OPEN', 'CLOSED'), 0, 'known transitions are exported before they happen');
  assert.equal(sampleValue(families, 'proxy_breaker_rejections_total', 'proxy_breaker_rejections_total', target), 2);
  assert.equal(sampleValue(families, 'proxy_breaker_in_flight', 'proxy_breaker_in_flight', target), 0);
  // hit() uses a fresh client connection per request, but the proxy kept one upstream connection.
  const connections = (state: string): number | undefined =>
    sampleValue(families, 'proxy_breaker_upstream_connections', 'proxy_breaker_upstream_connections', { ...target, state });
  assert.deepEqual([connections('busy'), connections('idle')], [0, 1]);
  assert.equal(sampleValue(families, 'proxy_breaker_upstream_connections_opened_total', 'proxy_breaker_upstream_connections_opened_total', target), 1);
  const histogram = 'proxy_breaker_upstream_duration_seconds';
  assert.equal(sampleValue(families, histogram, `${histogram}_count`, target), 5, 'every upstream exchange, none of the rejections');
  const buckets = families.get(histogram)!.samples.filter((sample) => sample.name === `${histogram}_bucket`);
  assert.deepEqual(
    buckets.map((b) => b.labels.le),
    [...LATENCY_BUCKETS.map(String), '+Inf'],
  );
  assert.ok(sampleValue(families, histogram, `${histogram}_sum`, target)! > 0);
});

test('a proxy with several targets keeps each family in one group', async () => {
  const proxy = createProxy({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] });
  const families = parseExposition(renderMetrics(proxy));
  assert.equal(families.get('proxy_breaker_state')!.samples.length, 6);
  assert.equal(families.get('proxy_breaker_upstream_duration_seconds')!.samples.length, 2 * (LATENCY_BUCKETS.length + 3));
  await proxy.close();
});
