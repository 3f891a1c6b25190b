/**
 * The validators behind every option (constructor options, `createProxy()`, the admin server, CLI
 * flags, the config file), written once, like Node's own `validateInteger(value, name, min, max)`.
 * Each takes the path the value was written at and throws `ConfigError` naming that path and the
 * value received: `routes[1].breaker.failureThreshold: expected an integer >= 1, got 0`.
 */
import { ConfigError } from './errors.js';

/** `routes` + 1 -> `routes[1]`; `routes[1]` + `breaker` -> `routes[1].breaker`. */
export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** A value as an error message shows it: JSON for scalars, the kind for objects, arrays and functions. */
export function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value); // JSON would print NaN and Infinity as null
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value);
  return 'an object';
}

/** A secret (a token) as an error message shows it: its kind, never its value. */
export function showSecret(value: unknown): string {
  if (value === '') return 'an empty string';
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? show(value) : `a ${typeof value}`;
}

export interface NumberRule {
  /** Smallest allowed value. @default -Infinity */
  min?: number;
  /** `min` itself is not allowed (`> 0` rather than `>= 0`). */
  exclusive?: boolean;
  /** Largest allowed value (inclusive). @default Infinity */
  max?: number;
  integer?: boolean;
  /** Allow `Infinity` (e.g. "unlimited", "off"). */
  infinite?: boolean;
}

/** What a number rule expects, for messages: `an integer >= 1`, `a number > 0 and <= 100`. */
function expectedNumber(rule: NumberRule): string {
  const { min = -Infinity, exclusive = false, max = Infinity, integer = false } = rule;
  const kind = integer ? 'an integer' : 'a number';
  if (min === -Infinity) return max === Infinity ? kind : `${kind} <= ${max}`;
  if (max === Infinity) return `${kind} ${exclusive ? '>' : '>='} ${min}`;
  return exclusive ? `${kind} > ${min} and <= ${max}` : `${kind} from ${min} to ${max}`;
}

function isValidNumber(value: unknown, rule: NumberRule): value is number {
  const { min = -Infinity, exclusive = false, max = Infinity, integer = false, infinite = false } = rule;
  if (typeof value !== 'number' || Number.isNaN(value)) return false;
  if (!Number.isFinite(value)) return infinite && value === Infinity && max === Infinity;
  return (!integer || Number.isInteger(value)) && (exclusive ? value > min : value >= min) && value <= max;
}

/** `shown`: how to show the value received, when it was typed as text (`"abc"` for `--timeout abc`). */
export function validateNumber(value: unknown, path: string, rule: NumberRule = {}, shown = show(value)): number {
  if (!isValidNumber(value, rule)) throw new ConfigError(path, `expected ${expectedNumber(rule)}, got ${shown}`);
  return value;
}

export function validateBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(path, `expected true or false, got ${show(value)}`);
  return value;
}

export function validateString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(path, `expected a non-empty string, got ${show(value)}`);
  return value;
}

export function validateFunction<F extends Function>(value: unknown, path: string): F {
  if (typeof value !== 'function') throw new ConfigError(path, `expected a function, got ${show(value)}`);
  return value as F;
}

export function validateArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ConfigError(path, `expected an array, got ${show(value)}`);
  return value;
}

export function validateObject(value: unknown, path: string, expected = 'an object'): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(path, `expected ${expected}, got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Throws when `object` sets keys outside `known`: a misspelt option must not be silently ignored. */
export function rejectUnknownKeys(object: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const key of Object.keys(object)) {
    if (object[key] !== undefined && !known.includes(key)) {
      throw new ConfigError(joinPath(path, key), `unknown option (known: ${known.join(', ')})`);
    }
  }
}
