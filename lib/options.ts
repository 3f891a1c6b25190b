/**
 * Option tables: each option is declared once (its check, default, one line of doc and, where it
 * has one, its command-line flag), and that declaration feeds validation, defaults, the CLI
 * parser, `--help` and the README's option list. Tables live beside what they configure
 * (lib/breaker/options.ts, lib/proxy/options.ts, lib/admin/options.ts, lib/cli/options.ts);
 * this module only knows how to declare and resolve one, so lib/breaker can use it too.
 */
import { ConfigError } from './errors.js';
import {
  joinPath,
  rejectUnknownKeys,
  show,
  validateBoolean,
  validateNumber,
  validateObject,
  validateString,
  type NumberRule,
} from './validate.js';

/** A command-line flag: `--name VALUE` (no `value` for a boolean switch). */
export interface FlagSpec {
  name: string;
  short?: string;
  /** The value's placeholder in `--help` (`MS`, `N`, `URL`). */
  value?: string;
  /** The flag may be given several times; the option gets the list. */
  multiple?: boolean;
  /** A switch that turns its option off: `--no-rewrite-redirects` for an option that is on by default. */
  negate?: boolean;
  /** The flag's line in `--help` when it says something else than the option's `doc` (a negating switch). */
  doc?: string;
}

/** What an option resolves against: the values resolved before it, for defaults and rules that depend on them. */
export type Siblings = Readonly<Record<string, unknown>>;

export interface Option<T> {
  /** What the option does, in one line: `--help` and the README print it. */
  readonly doc: string;
  /** Its type as the docs show it (`number`, `string | number[]`). */
  readonly type: string;
  /** Checks a value given in code or a config file; throws `ConfigError` at `path`. */
  check(value: unknown, path: string): T;
  /** The value when the option is not set (`undefined`: off), or a function of the options declared before it. */
  readonly default: T | undefined | ((siblings: Siblings) => T);
  /** The default as `--help` shows it, when the value itself would not say it (`10 x --reset-timeout`, `off`). */
  readonly defaultText?: string;
  /** A rule between this option and the ones declared before it; returns what is wrong, or undefined. */
  relate?(value: T, siblings: Siblings): string | undefined;
  /** Reads the option from a command-line value; numbers as plain decimals. @default check(text) */
  parse?(text: string, path: string): T;
  readonly flag?: FlagSpec;
  /** A route in the config file may set it too, over the top-level value. */
  readonly perRoute?: boolean;
  /**
   * The value is the contents of a file: in code it is given as is, while on the command line
   * and in the config file it is the file's name, and the CLI reads the file (at start and on
   * every reload) and passes its contents.
   */
  readonly file?: boolean;
}

export type OptionTable = Readonly<Record<string, Option<unknown>>>;

/** The resolved values of a table: each option's checked value, or its default (`undefined` when off). */
export type Resolved<Table extends OptionTable> = {
  -readonly [K in keyof Table]: Table[K] extends { default: infer D; check(value: unknown, path: string): infer T }
    ? undefined extends D
      ? T | undefined
      : T
    : never;
};

/** A declaration without its check: what a builder below is given. */
type Spec<T> = Omit<Option<T>, 'check' | 'parse' | 'type'>;

/** A number typed as text: plain decimals only (`Number()` would also take "", "0x10" and "1e3"); NaN otherwise. */
export function parseDecimal(text: string): number {
  return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
}

export function numberOption<S extends Spec<number>>(rule: NumberRule, spec: S): S & Option<number> {
  return {
    ...spec,
    type: 'number',
    check: (value, path) => validateNumber(value, path, rule),
    // A number typed on the command line is shown as typed: `--timeout: ... got "abc"`.
    parse: (text, path) => validateNumber(parseDecimal(text), path, rule, JSON.stringify(text)),
  };
}

export function booleanOption<S extends Spec<boolean>>(spec: S): S & Option<boolean> {
  return { ...spec, type: 'boolean', check: validateBoolean };
}

export function stringOption<S extends Spec<string>>(spec: S): S & Option<string> {
  return { ...spec, type: 'string', check: validateString };
}

/** One of a few strings (`text|json`). */
export function choiceOption<const C extends string, S extends Spec<C> = Spec<C>>(choices: readonly C[], spec: S): S & Option<C> {
  return {
    ...spec,
    type: choices.map((c) => JSON.stringify(c)).join(' | '),
    check: (value, path) => {
      if (!(choices as readonly unknown[]).includes(value)) {
        throw new ConfigError(path, `expected ${choices.map((c) => JSON.stringify(c)).join(' or ')}, got ${show(value)}`);
      }
      return value as C;
    },
  };
}

/** An option with its own check (a URL, a status list, a token); `type` is its input type as the docs show it. */
export function customOption<T, S extends Spec<T> & Pick<Option<T>, 'type' | 'parse'> = Spec<T> & Pick<Option<T>, 'type'>>(
  check: (value: unknown, path: string) => T,
  spec: S,
): S & Option<T> {
  return { ...spec, check };
}

/** A layer of options: an object as given, and where it was written. */
export interface Layer {
  value: unknown;
  path: string;
  /** Keys the layer may hold that another part checks (a breaker's callbacks): known, not resolved here. */
  otherKeys?: readonly string[];
}

/** What `checkLayer()` returns: the values a layer sets, checked, each with its path. */
export type CheckedLayer = Record<string, { value: unknown; path: string }>;

/**
 * Resolves a table over layers of given options, lowest first (a proxy's `breaker`, then a route's).
 * Each layer is checked as a whole (object, known keys, every value set), so a bad value is reported
 * where it was written even when a higher layer hides it; each option takes its value from the
 * highest layer that sets it, else its default. `undefined` is "not set": it hides nothing.
 */
export function resolveOptions<Table extends OptionTable>(table: Table, layers: ReadonlyArray<Layer | { checked: CheckedLayer }>): Resolved<Table> {
  const given: CheckedLayer = {};
  // A layer several resolutions share (the proxy's, under each route) may come checked already.
  for (const layer of layers) Object.assign(given, 'checked' in layer ? layer.checked : checkLayer(table, layer));
  const keys = Object.keys(table);
  const resolved: Record<string, unknown> = {};
  for (const key of keys) {
    const option = table[key]!;
    const set = given[key];
    if (set === undefined) {
      resolved[key] = typeof option.default === 'function' ? (option.default as (siblings: Siblings) => unknown)(resolved) : option.default;
      continue;
    }
    const wrong = option.relate?.(set.value, resolved);
    if (wrong !== undefined) throw new ConfigError(set.path, wrong);
    resolved[key] = set.value;
  }
  return resolved as Resolved<Table>;
}

/**
 * Checks one layer on its own: an object (or undefined), known keys, every value it sets. Returns
 * the checked values it sets, each with its path. Rules between options are for `resolveOptions`:
 * they hold only once every layer is merged.
 */
export function checkLayer(table: OptionTable, layer: Layer): CheckedLayer {
  const given: CheckedLayer = {};
  if (layer.value === undefined) return given;
  const keys = Object.keys(table);
  // The options object itself (path '') is reported as `options`.
  const object = validateObject(layer.value, layer.path === '' ? 'options' : layer.path);
  rejectUnknownKeys(object, layer.otherKeys === undefined ? keys : [...layer.otherKeys, ...keys], layer.path);
  for (const key of keys) {
    const value = object[key];
    if (value === undefined) continue;
    const path = joinPath(layer.path, key);
    given[key] = { value: table[key]!.check(value, path), path };
  }
  return given;
}

/**
 * The default as the docs show it: its `defaultText`, else the value; `undefined` when there is
 * nothing worth printing after a flag (an option off by default, a switch that is off).
 */
export function defaultText(option: Option<unknown>): string | undefined {
  if (option.defaultText !== undefined) return option.defaultText;
  const value = option.default;
  if (value === undefined || value === false || typeof value === 'function') return undefined;
  return value === Infinity ? 'unlimited' : String(value);
}
