import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, resolveBreakerOptions, type CircuitBreakerOptions, type TripRule } from '../lib/breaker/index.js';
import { CallTimeoutError, CircuitBreakerOpenError, ConfigError, ProxyBreakerError, withoutStack } from '../lib/errors.js';
import {
  rejectUnknownKeys,
  show,
  validateArray,
  validateBoolean,
  validateFunction,
  validateNumber,
  validateObject,
  validateString,
} from '../lib/validate.js';

/** Asserts the one option error: `ConfigError`, its code, its path, and a message naming both the path and the value. */
function assertOptionError(fn: () => unknown, path: string, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_INVALID_CONFIG');
    assert.equal(error.path, path);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

test('options default to the documented values', () => {
  assert.deepEqual(resolveBreakerOptions(), {
    failureThreshold: 5,
    callTimeout: 10_000,
    resetTimeout: 30_000,
    resetTimeoutMax: 30_000,
    jitter: 0,
    halfOpenMaxCalls: 1,
    failureRate: undefined,
    window: 10_000,
    minRequests: 10,
    slowCallDuration: undefined,
    slowCallRate: 100,
  });
});

test('resetTimeoutMax defaults to resetTimeout', () => {
  assert.equal(new CircuitBreaker({ resetTimeout: 1234 }).options.resetTimeoutMax, 1234);
});

test('the resolved options are frozen', () => {
  const breaker = new CircuitBreaker();
  assert.ok(Object.isFrozen(breaker.options));
});

const bad: Record<string, readonly unknown[]> = {
  failureThreshold: [0, -1, NaN, 'x', 1.5, -Infinity],
  callTimeout: [0, -1, NaN, 'x', -Infinity],
  resetTimeout: [0, -1, NaN, 'x', Infinity],
  resetTimeoutMax: [0, -1, NaN, 'x', Infinity],
  jitter: [-1, NaN, 'x', 1.5, Infinity],
  halfOpenMaxCalls: [0, -1, NaN, 'x', 1.5, Infinity],
  failureRate: [0, -1, NaN, 'x', 101, Infinity],
  window: [0, -1, NaN, 'x', Infinity],
  minRequests: [0, -1, NaN, 'x', 1.5, Infinity],
};

for (const [name, values] of Object.entries(bad)) {
  for (const value of values) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    test(`${name}: ${shown} is rejected with an error naming the option and the value`, () => {
      assertOptionError(() => new CircuitBreaker({ [name]: value } as CircuitBreakerOptions), name, new RegExp(`^${name}: expected .*, got ${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    });
  }
}

test('failureThreshold Infinity is allowed', () => {
  assert.equal(new CircuitBreaker({ failureThreshold: Infinity }).options.failureThreshold, Infinity);
});

test('callTimeout Infinity is allowed', () => {
  assert.equal(new CircuitBreaker({ callTimeout: Infinity }).options.callTimeout, Infinity);
});

test('fractional durations are allowed', () => {
  const { callTimeout, resetTimeout, window } = new CircuitBreaker({ callTimeout: 0.5, resetTimeout: 1.5, window: 2.5 }).options;
  assert.deepEqual([callTimeout, resetTimeout, window], [0.5, 1.5, 2.5]);
});

test('jitter accepts the bounds 0 and 1', () => {
  assert.equal(new CircuitBreaker({ jitter: 0 }).options.jitter, 0);
  assert.equal(new CircuitBreaker({ jitter: 1 }).options.jitter, 1);
});

test('failureRate accepts 100', () => {
  assert.equal(new CircuitBreaker({ failureRate: 100 }).options.failureRate, 100);
});

test('the failureRate error states the range it expects', () => {
  assertOptionError(() => new CircuitBreaker({ failureRate: 0 }), 'failureRate', 'failureRate: expected a number > 0 and <= 100, got 0');
});

test('the jitter error states the range it expects', () => {
  assertOptionError(() => new CircuitBreaker({ jitter: 2 }), 'jitter', 'jitter: expected a number from 0 to 1, got 2');
});

test('an unknown option key is rejected naming the key and the known ones', () => {
  assertOptionError(() => new CircuitBreaker({ failureTreshold: 3 } as CircuitBreakerOptions), 'failureTreshold', /^failureTreshold: unknown option \(known: rules, isFailure, clock, failureThreshold, /);
});

test('resetTimeoutMax below resetTimeout is rejected naming both values', () => {
  assertOptionError(() => new CircuitBreaker({ resetTimeout: 1000, resetTimeoutMax: 999 }), 'resetTimeoutMax', 'resetTimeoutMax: expected >= resetTimeout (1000), got 999');
});

test('resetTimeoutMax equal to resetTimeout is allowed', () => {
  assert.equal(new CircuitBreaker({ resetTimeout: 1000, resetTimeoutMax: 1000 }).options.resetTimeoutMax, 1000);
});

for (const value of [null, 'x', 5, [] as unknown]) {
  test(`options that are ${JSON.stringify(value)} are rejected`, () => {
    assertOptionError(() => new CircuitBreaker(value as CircuitBreakerOptions), 'options', `options: expected an object, got ${show(value)}`);
  });
}

test('undefined options mean the defaults', () => {
  assert.equal(new CircuitBreaker(undefined).options.failureThreshold, 5);
});

test('resolveBreakerOptions prefixes its errors with the path the options were written at', () => {
  assertOptionError(() => resolveBreakerOptions({ nope: 1 } as CircuitBreakerOptions, 'targets[0].breaker'), 'targets[0].breaker.nope', /^targets\[0\]\.breaker\.nope: unknown option/);
  assertOptionError(() => resolveBreakerOptions({ window: -1 }, 'targets[0].breaker'), 'targets[0].breaker.window', 'targets[0].breaker.window: expected a number > 0, got -1');
});

for (const name of ['isFailure', 'clock'] as const) {
  test(`${name} that is not a function is rejected`, () => {
    assertOptionError(() => new CircuitBreaker({ [name]: 'x' } as CircuitBreakerOptions), name, `${name}: expected a function, got "x"`);
  });
}

test('rules that is not an array is rejected', () => {
  assertOptionError(() => new CircuitBreaker({ rules: {} as unknown as TripRule[] }), 'rules', 'rules: expected an array, got an object');
});

test('a rule without the TripRule methods is rejected', () => {
  assertOptionError(
    () => new CircuitBreaker({ rules: [{ timed: false, failure: () => true } as unknown as TripRule] }),
    'rules[0]',
    'rules[0]: expected a trip rule with a success() method, got an object',
  );
});

// lib/validate.ts and lib/errors.ts: the validators behind every option, and the error classes

test('show() quotes strings and names functions, arrays and objects', () => {
  assert.deepEqual(
    [show('x'), show(() => {}), show([]), show({}), show(null), show(undefined), show(NaN), show(-Infinity)],
    ['"x"', 'a function', 'an array', 'an object', 'null', 'undefined', 'NaN', '-Infinity'],
  );
});

test('validateNumber returns a valid value unchanged', () => {
  assert.equal(validateNumber(3, 'n', { min: 1, max: 5, integer: true }), 3);
});

test('validateNumber states the bounds it expects', () => {
  const cases = [
    [{}, 'a number'],
    [{ min: 0 }, 'a number >= 0'],
    [{ min: 0, exclusive: true }, 'a number > 0'],
    [{ min: 1, integer: true }, 'an integer >= 1'],
    [{ min: 0, max: 1 }, 'a number from 0 to 1'],
    [{ min: 0, exclusive: true, max: 100 }, 'a number > 0 and <= 100'],
  ] as const;
  for (const [rule, expected] of cases) {
    assertOptionError(() => validateNumber('x', 'n', rule), 'n', `n: expected ${expected}, got "x"`);
  }
});

test('validateNumber rejects Infinity unless infinite is allowed', () => {
  assertOptionError(() => validateNumber(Infinity, 'n'), 'n', 'n: expected a number, got Infinity');
  assert.equal(validateNumber(Infinity, 'n', { infinite: true }), Infinity);
  assertOptionError(() => validateNumber(-Infinity, 'n', { infinite: true }), 'n', /got -Infinity$/);
});

test('validateNumber with an exclusive minimum rejects it, and -0', () => {
  assertOptionError(() => validateNumber(0, 'n', { min: 0, exclusive: true }), 'n', 'n: expected a number > 0, got 0');
  assertOptionError(() => validateNumber(-0, 'n', { min: 0, exclusive: true }), 'n', /got 0$/);
  assert.equal(validateNumber(0.001, 'n', { min: 0, exclusive: true }), 0.001);
});

test('validateBoolean accepts booleans only', () => {
  assert.equal(validateBoolean(false, 'flag'), false);
  assertOptionError(() => validateBoolean('true', 'flag'), 'flag', 'flag: expected true or false, got "true"');
});

test('validateString accepts non-empty strings only', () => {
  assert.equal(validateString('a', 's'), 'a');
  assertOptionError(() => validateString('', 's'), 's', 's: expected a non-empty string, got ""');
  assertOptionError(() => validateString(1, 's'), 's', 's: expected a non-empty string, got 1');
});

test('validateFunction, validateArray and validateObject name what they got', () => {
  const f = (): void => {};
  assert.equal(validateFunction(f, 'f'), f);
  assertOptionError(() => validateFunction(1, 'f'), 'f', 'f: expected a function, got 1');
  assert.deepEqual(validateArray([1], 'a'), [1]);
  assertOptionError(() => validateArray({}, 'a'), 'a', 'a: expected an array, got an object');
  assert.deepEqual(validateObject({ a: 1 }, 'o'), { a: 1 });
  assertOptionError(() => validateObject([], 'o'), 'o', 'o: expected an object, got an array');
});

test('rejectUnknownKeys names the key at its path and lists the known keys', () => {
  assert.doesNotThrow(() => rejectUnknownKeys({ a: 1 }, ['a', 'b'], 'opts'));
  assert.doesNotThrow(() => rejectUnknownKeys({ c: undefined }, ['a'], 'opts'));
  assertOptionError(() => rejectUnknownKeys({ c: 1 }, ['a', 'b'], 'opts'), 'opts.c', 'opts.c: unknown option (known: a, b)');
});

test('errors carry a stable code and are named after their class', () => {
  const open = new CircuitBreakerOpenError(1500.2);
  assert.ok(open instanceof ProxyBreakerError);
  assert.equal(open.name, 'CircuitBreakerOpenError');
  assert.equal(open.message, 'Circuit is open; next probe in 1501 ms');
  assert.equal(open.retryAfterMs, 1500.2);
  const timeout = new CallTimeoutError(250);
  assert.equal(timeout.code, 'ERR_CALL_TIMEOUT');
  assert.equal(timeout.message, 'Call timed out after 250 ms');
});

test('ProxyBreakerError keeps its cause', () => {
  const cause = new Error('root');
  const error = new ProxyBreakerError('ERR_X', 'wrapped', { cause });
  assert.equal(error.cause, cause);
  assert.equal(error.code, 'ERR_X');
});

test('ConfigError prefixes the message with its path and keeps the reason apart', () => {
  const error = new ConfigError('routes[2]', 'bad');
  assert.equal(error.message, 'routes[2]: bad');
  assert.equal(error.reason, 'bad');
  assert.equal(error.path, 'routes[2]');
  assert.equal(new ConfigError('', 'bad').message, 'bad');
  assert.equal(new ConfigError('x', 'bad').code, 'ERR_INVALID_CONFIG');
});

test('withoutStack creates an error with no stack frames and restores stackTraceLimit', () => {
  const limit = Error.stackTraceLimit;
  const error = withoutStack(() => new Error('fast'));
  assert.equal(Error.stackTraceLimit, limit);
  assert.equal(error.stack?.includes('\n    at '), false);
});

test('withoutStack restores stackTraceLimit when the factory throws', () => {
  const limit = Error.stackTraceLimit;
  assert.throws(() =>
    withoutStack(() => {
      throw new Error('factory');
    }),
  );
  assert.equal(Error.stackTraceLimit, limit);
});
