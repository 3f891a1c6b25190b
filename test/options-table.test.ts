import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { BREAKER_OPTIONS } from '../lib/breaker/options.js';
import { FLAG_ENTRIES, flagLine } from '../lib/cli/options.js';
import { ConfigError } from '../lib/errors.js';
import { booleanOption, checkLayer, choiceOption, numberOption, parseDecimal, resolveOptions } from '../lib/options.js';
import { PROXY_BREAKER_OPTIONS, PROXY_OPTIONS, resolveProxyOptions } from '../lib/proxy/options.js';

const TABLE = {
  low: numberOption({ min: 1, integer: true }, { default: 5, doc: 'a count' }),
  high: numberOption(
    { min: 1 },
    {
      default: (siblings: Readonly<Record<string, unknown>>) => (siblings.low as number) * 2,
      doc: 'at least low',
      relate: (value: number, siblings: Readonly<Record<string, unknown>>) => (value < (siblings.low as number) ? `expected >= low (${siblings.low as number}), got ${value}` : undefined),
    },
  ),
  on: booleanOption({ default: false, doc: 'a switch' }),
  mode: choiceOption(['a', 'b'], { default: 'a', doc: 'a choice' }),
} as const;

function caught(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigError');
}

test('resolveOptions fills in defaults, a default may depend on options declared before it', () => {
  assert.deepEqual(resolveOptions(TABLE, []), { low: 5, high: 10, on: false, mode: 'a' });
  assert.deepEqual(resolveOptions(TABLE, [{ value: { low: 3 }, path: '' }]), { low: 3, high: 6, on: false, mode: 'a' });
});

test('the highest layer that sets an option wins; undefined sets nothing', () => {
  const resolved = resolveOptions(TABLE, [
    { value: { low: 2, mode: 'b' }, path: 'top' },
    { value: { low: 4, mode: undefined }, path: 'routes[0]' },
  ]);
  assert.deepEqual(resolved, { low: 4, high: 8, on: false, mode: 'b' });
});

test('a bad value is reported where it was written, even when a higher layer hides it', () => {
  const error = caught(() => resolveOptions(TABLE, [{ value: { low: 0 }, path: 'top' }, { value: { low: 4 }, path: 'routes[0]' }]));
  assert.equal(error.path, 'top.low');
  assert.equal(error.reason, 'expected an integer >= 1, got 0');
});

test('a rule between options blames the option set last, at its path', () => {
  const error = caught(() => resolveOptions(TABLE, [{ value: { high: 2 }, path: 'top' }, { value: { low: 3 }, path: 'routes[1]' }]));
  assert.equal(error.message, 'top.high: expected >= low (3), got 2');
});

test('otherKeys are known to a layer but not resolved by the table', () => {
  assert.deepEqual(resolveOptions(TABLE, [{ value: { match: '/', low: 1 }, path: 'r', otherKeys: ['match'] }]).low, 1);
  const error = caught(() => resolveOptions(TABLE, [{ value: { mach: '/' }, path: 'r', otherKeys: ['match'] }]));
  assert.equal(error.message, 'r.mach: unknown option (known: match, low, high, on, mode)');
});

test('checkLayer checks values but leaves the rules between options to resolveOptions', () => {
  assert.deepEqual(checkLayer(TABLE, { value: { high: 1 }, path: 'p' }), { high: { value: 1, path: 'p.high' } });
  assert.deepEqual(checkLayer(TABLE, { value: undefined, path: 'p' }), {});
  assert.equal(caught(() => checkLayer(TABLE, { value: 5, path: '' })).message, 'options: expected an object, got 5');
});

test('a number option reads a flag as a plain decimal and shows the text typed', () => {
  assert.equal(TABLE.low.parse!('7', '--low'), 7);
  for (const text of ['', '0x10', '1e3', ' ', 'abc']) assert.ok(Number.isNaN(parseDecimal(text)), text);
  assert.equal(caught(() => TABLE.low.parse!('1e3', '--low')).message, '--low: expected an integer >= 1, got "1e3"');
});

test('a choice option lists its choices', () => {
  assert.equal(caught(() => TABLE.mode.check('c', 'mode')).message, 'mode: expected "a" or "b", got "c"');
});

test("the proxy reuses the breaker's entries, with its own defaults where it says so", () => {
  assert.equal(PROXY_BREAKER_OPTIONS.failureThreshold.check, BREAKER_OPTIONS.failureThreshold.check);
  assert.equal(BREAKER_OPTIONS.jitter.default, 0);
  assert.equal(PROXY_BREAKER_OPTIONS.jitter.default, 0.1);
  const breaker = resolveProxyOptions({ target: 'http://127.0.0.1:1', breaker: { resetTimeout: 1000 } }).routes[0]!.breaker;
  assert.equal(breaker.resetTimeoutMax, 10_000);
  assert.equal(breaker.jitter, 0.1);
  assert.equal('callTimeout' in PROXY_BREAKER_OPTIONS, false, "the proxy's call timeout is its own `timeout`");
});

test('every option with a flag is a flag, and every flag has a --help line with its default where it has one', () => {
  const flags = new Set(FLAG_ENTRIES.map((entry) => entry.flag.name));
  for (const table of [PROXY_OPTIONS, PROXY_BREAKER_OPTIONS]) {
    for (const option of Object.values(table) as Array<{ flag?: { name: string } }>) {
      if (option.flag !== undefined) assert.ok(flags.has(option.flag.name), option.flag.name);
    }
  }
  const timeout = FLAG_ENTRIES.find((entry) => entry.flag.name === 'timeout')!;
  assert.match(flagLine(timeout), /^ {6}--timeout MS {13}call timeout: wait for response headers \(default 10000\)$/);
  assert.equal(flags.size, FLAG_ENTRIES.length, 'no flag is declared twice');
});

test('a flag checks its value with the option it sets, under the flag name', () => {
  const error = caught(() => PROXY_OPTIONS.probePath.check('health', '--probe-path'));
  assert.equal(error.message, '--probe-path: expected a path like /health, got "health"');
});
