/**
 * Manual control of the targets' breakers, by origin: the one way to drive a breaker from outside
 * the proxy. Each action is a name and a string, so a command can travel as data
 * (`{ action: 'open', target: 'http://10.0.0.5:8080' }`) and be applied with
 * `proxy.breakers[command.action](command.target)`.
 */
import type { TargetSnapshot } from './snapshot.js';
import type { Target, TargetRegistry } from './target.js';

/** The actions of `BreakerControl`, as data. */
export type BreakerAction = 'open' | 'close' | 'reset';

export const BREAKER_ACTIONS: readonly BreakerAction[] = ['open', 'close', 'reset'];

/**
 * `proxy.breakers`: opens, closes or resets one target's circuit. `origin` names the target in
 * any spelling `new URL(origin).origin` reads the same (`HTTP://127.0.0.1:80/` is
 * `http://127.0.0.1`). Each returns the target's snapshot after the action, or `undefined` when
 * the proxy has no such target (nothing changed).
 */
export interface BreakerControl {
  /** Holds the circuit OPEN, without probes, until `close()` or `reset()` (maintenance). */
  open(origin: string): TargetSnapshot | undefined;
  /** Closes the circuit now (a forced open too) and clears the failure count; counts are kept. */
  close(origin: string): TargetSnapshot | undefined;
  /** Closes the circuit and forgets everything, the breaker's counts included. */
  reset(origin: string): TargetSnapshot | undefined;
}

/** The origin `name` spells, or undefined when it is not a URL. */
export function originOf(name: string): string | undefined {
  try {
    return new URL(name).origin;
  } catch {
    return undefined;
  }
}

export class Breakers implements BreakerControl {
  readonly #registry: TargetRegistry;

  constructor(registry: TargetRegistry) {
    this.#registry = registry;
  }

  open(origin: string): TargetSnapshot | undefined {
    return this.#apply(origin, (target) => target.breaker.forceOpen());
  }

  close(origin: string): TargetSnapshot | undefined {
    return this.#apply(origin, (target) => target.breaker.forceClose());
  }

  reset(origin: string): TargetSnapshot | undefined {
    return this.#apply(origin, (target) => target.breaker.reset());
  }

  #apply(origin: string, action: (target: Target) => void): TargetSnapshot | undefined {
    const target = this.#registry.get(origin) ?? this.#registry.get(originOf(origin) ?? '');
    if (target === undefined) return undefined;
    action(target);
    return target.snapshot();
  }
}
