/**
 * Option validation, written once and used at every edge (constructor options, CLI flags, the
 * config file). Errors name the option and the value received, like Node's own validators.
 */

type Invalid = (TypeError | RangeError) & { code: 'ERR_INVALID_OPTION' };

function invalid(Kind: typeof TypeError | typeof RangeError, message: string): Invalid {
  const error = new Kind(message) as Invalid;
  error.code = 'ERR_INVALID_OPTION';
  return error;
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

export interface NumberRule {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  integer?: boolean;
  /** Allow `Infinity` (e.g. "unlimited"). */
  infinite?: boolean;
}

export function validateNumber(value: unknown, name: string, rule: NumberRule = {}): number {
  const { min = -Infinity, max = Infinity, integer = false, infinite = false } = rule;
  const expected = `${integer ? 'an integer' : 'a number'}${boundsText(min, max)}`;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw invalid(TypeError, `Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
  }
  const finite = Number.isFinite(value);
  if ((!finite && !(infinite && value === Infinity)) || (integer && finite && !Number.isInteger(value)) || value < min || value > max) {
    throw invalid(RangeError, `Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
  }
  return value;
}

function boundsText(min: number, max: number): string {
  // Number.MIN_VALUE stands for "greater than 0"; printing it would read "between 5e-324 and 100".
  if (max !== Infinity) return min === Number.MIN_VALUE ? ` > 0 and <= ${max}` : ` between ${min} and ${max}`;
  if (min === Number.MIN_VALUE) return ' > 0';
  return min === -Infinity ? '' : ` >= ${min}`;
}

/** A duration or count that must be strictly positive. */
export function validatePositive(value: unknown, name: string, integer = false): number {
  return validateNumber(value, name, { min: integer ? 1 : Number.MIN_VALUE, integer });
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalid(TypeError, `Expected \`${name}\` to be a boolean, got ${describe(value)}`);
  return value;
}

export function validateFunction<F extends Function>(value: unknown, name: string): F {
  if (typeof value !== 'function') throw invalid(TypeError, `Expected \`${name}\` to be a function, got ${describe(value)}`);
  return value as F;
}

export function validateString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') {
    throw invalid(TypeError, `Expected \`${name}\` to be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** Throws when `options` has keys outside `known`: a misspelt option must not be silently ignored. */
export function rejectUnknownKeys(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw invalid(TypeError, `Unknown option \`${key}\` in ${where} (known: ${known.join(', ')})`);
    }
  }
}

export function validateArray(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(TypeError, `Expected \`${name}\` to be an array, got ${describe(value)}`);
  return value;
}

export function validateObject(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(TypeError, `Expected \`${name}\` to be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}
