import { CircuitBreaker, type CircuitBreakerOptions } from './breaker.js';

/**
 * A standard (TC39, TypeScript 5) method decorator that sends every call of the method through a
 * circuit breaker.
 *
 * One breaker per decorated method, shared by every instance of the class: the breaker protects
 * the dependency the method talks to, and all instances talk to the same one. Pass a breaker
 * instance instead of options to share it across methods or to observe it.
 *
 * @example
 * class Users {
 *   @circuitBreaker({ failureThreshold: 3 })
 *   async find(id: string) { ... }
 * }
 */
export function circuitBreaker(optionsOrBreaker: CircuitBreakerOptions | CircuitBreaker = {}) {
  const breaker = optionsOrBreaker instanceof CircuitBreaker ? optionsOrBreaker : new CircuitBreaker(optionsOrBreaker);
  return function decorate<This, A extends unknown[], R>(
    method: (this: This, ...args: A) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): (this: This, ...args: A) => Promise<Awaited<R>> {
    if (context.kind !== 'method') throw new TypeError('@circuitBreaker decorates methods only');
    return function (this: This, ...args: A): Promise<Awaited<R>> {
      return breaker.call(() => method.apply(this, args));
    };
  };
}
