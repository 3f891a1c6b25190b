import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, resolveBreakerOptions, type CircuitBreakerOptions, type TripRule } from '../lib/breaker/index.js';
import { CallTimeoutError, CircuitBreakerOpenError, ConfigError, ProxyBreakerError, withoutStack } from '../lib/errors.js';
import {
  describe,
  rejectUnknownKeys,
  validateArray,
  validateBoolean,
  validateFunction,
  validateNumber,
  validateObject,
  validatePositive,
  validateString,
} from '../lib/validate.js';

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
    test(`${name}: ${shown} is rejected with an error naming the option`, () => {
      assert.throws(
        () => new CircuitBreaker({ [name]: value } as CircuitBreakerOptions),
        (error: unknown) => {
          assert.ok(error instanceof TypeError || error instanceof RangeError, `got ${String(error)}`);
          assert.equal(error instanceof TypeError, typeof value !== 'number' || Number.isNaN(value), 'TypeError for a wrong type, RangeError for a bad number');
          assert.equal((error as { code?: string }).code, 'ERR_INVALID_OPTION');
          assert.match(error.message, new RegExp(`\`${name}\``));
          assert.ok(error.message.includes(`got ${shown}`), error.message);
          return true;
        },
      );
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
  assert.throws(() => new CircuitBreaker({ failureRate: 0 }), { message: 'Expected `failureRate` to be a number > 0 and <= 100, got 0' });
});

test('an unknown option key throws a TypeError naming the key', () => {
  assert.throws(() => new CircuitBreaker({ failureTreshold: 3 } as CircuitBreakerOptions), {
    name: 'TypeError',
    code: 'ERR_INVALID_OPTION',
    message: /Unknown option `failureTreshold`/,
  });
});

test('resetTimeoutMax below resetTimeout throws a RangeError', () => {
  assert.throws(() => new CircuitBreaker({ resetTimeout: 1000, resetTimeoutMax: 999 }), {
    name: 'RangeError',
    code: 'ERR_INVALID_OPTION',
    message: /`resetTimeoutMax`.*1000.*999/,
  });
});

test('resetTimeoutMax equal to resetTimeout is allowed', () => {
  assert.equal(new CircuitBreaker({ resetTimeout: 1000, resetTimeoutMax: 1000 }).options.resetTimeoutMax, 1000);
});

for (const value of [null, 'x', 5, [] as unknown]) {
  test(`options that are ${JSON.stringify(value)} are rejected with a TypeError`, () => {
    assert.throws(() => new CircuitBreaker(value as CircuitBreakerOptions), { name: 'TypeError', code: 'ERR_INVALID_OPTION' });
  });
}

test('undefined options mean the defaults', () => {
  assert.equal(new CircuitBreaker(undefined).options.failureThreshold, 5);
});

test('resolveBreakerOptions names the caller in unknown-key errors', () => {
  assert.throws(() => resolveBreakerOptions({ nope: 1 } as CircuitBreakerOptions, 'targets[0].breaker'), { message: /in targets\[0\]\.breaker/ });
});

for (const name of ['isFailure', 'clock'] as const) {
  test(`${name} that is not a function is rejected`, () => {
    assert.throws(() => new CircuitBreaker({ [name]: 'x' } as CircuitBreakerOptions), {
      name: 'TypeError',
      code: 'ERR_INVALID_OPTION',
      message: new RegExp(`\`${name}\``),
    });
  });
}

test('rules that is not an array is rejected', () => {
  assert.throws(() => new CircuitBreaker({ rules: {} as unknown as TripRule[] }), {
    name: 'TypeError',
    code: 'ERR_INVALID_OPTION',
    message: /`rules`/,
  });
});

test('a rule without the TripRule methods is rejected', () => {
  assert.throws(() => new CircuitBreaker({ rules: [{ timed: false, failure: () => true } as unknown as TripRule] }), {
    name: 'TypeError',
    code: 'ERR_INVALID_OPTION',
    message: /`rules\[0\]`/,
  });
});

// lib/validate.ts and lib/errors.ts: the validators behind every option, and the error classes

test('describe() shows strings quoted and names functions, arrays and objects', () => {
  assert.deepEqual(
    [describe('x'), describe(() => {}), describe([]), describe({}), describe(null), describe(undefined), describe(NaN), describe(-Infinity)],
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
    [{ min: Number.MIN_VALUE }, 'a number > 0'],
    [{ min: 1, integer: true }, 'an integer >= 1'],
    [{ min: 0, max: 1 }, 'a number between 0 and 1'],
    [{ min: Number.MIN_VALUE, max: 100 }, 'a number > 0 and <= 100'],
  ] as const;
  for (const [rule, expected] of cases) {
    assert.throws(() => validateNumber('x', 'n', rule), { message: `Expected \`n\` to be ${expected}, got "x"` });
  }
});

test('validateNumber rejects Infinity unless infinite is allowed', () => {
  assert.throws(() => validateNumber(Infinity, 'n'), RangeError);
  assert.equal(validateNumber(Infinity, 'n', { infinite: true }), Infinity);
  assert.throws(() => validateNumber(-Infinity, 'n', { infinite: true }), RangeError);
});

test('validatePositive rejects 0 and -0', () => {
  assert.throws(() => validatePositive(0, 'n'), RangeError);
  assert.throws(() => validatePositive(-0, 'n'), RangeError);
  assert.equal(validatePositive(0.001, 'n'), 0.001);
  assert.throws(() => validatePositive(0.5, 'n', true), RangeError);
});

test('validateBoolean accepts booleans only', () => {
  assert.equal(validateBoolean(false, 'flag'), false);
  assert.throws(() => validateBoolean('true', 'flag'), { name: 'TypeError', code: 'ERR_INVALID_OPTION', message: 'Expected `flag` to be a boolean, got "true"' });
});

test('validateString accepts non-empty strings only', () => {
  assert.equal(validateString('a', 's'), 'a');
  assert.throws(() => validateString('', 's'), { name: 'TypeError', message: /non-empty string, got ""/ });
  assert.throws(() => validateString(1, 's'), { name: 'TypeError', code: 'ERR_INVALID_OPTION' });
});

test('validateFunction, validateArray and validateObject name what they got', () => {
  const f = (): void => {};
  assert.equal(validateFunction(f, 'f'), f);
  assert.throws(() => validateFunction(1, 'f'), { message: 'Expected `f` to be a function, got 1' });
  assert.deepEqual(validateArray([1], 'a'), [1]);
  assert.throws(() => validateArray({}, 'a'), { message: 'Expected `a` to be an array, got an object' });
  assert.deepEqual(validateObject({ a: 1 }, 'o'), { a: 1 });
  assert.throws(() => validateObject([], 'o'), { message: 'Expected `o` to be an object, got an array' });
});

test('rejectUnknownKeys lists the known keys', () => {
  assert.doesNotThrow(() => rejectUnknownKeys({ a: 1 }, ['a', 'b'], 'opts'));
  assert.throws(() => rejectUnknownKeys({ c: 1 }, ['a', 'b'], 'opts'), { message: 'Unknown option `c` in opts (known: a, b)' });
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

test('ConfigError prefixes the message with its path', () => {
  assert.equal(new ConfigError('routes[2]', 'bad').message, 'routes[2]: bad');
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
