import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CircuitState, circuitBreaker } from '../lib/breaker/index.js';

test('@circuitBreaker keeps `this` and passes the arguments', async () => {
  class Greeter {
    readonly greeting = 'hello';

    @circuitBreaker({ failureThreshold: 2 })
    async greet(name: string, punctuation: string): Promise<string> {
      return `${this.greeting} ${name}${punctuation}`;
    }
  }
  assert.equal(await new Greeter().greet('world', '!'), 'hello world!');
});

test('@circuitBreaker sends every call of the method through the breaker', async () => {
  const breaker = new CircuitBreaker();
  class Counter {
    @circuitBreaker(breaker)
    async value(n: number): Promise<number> {
      return n * 2;
    }
  }
  const counter = new Counter();
  assert.deepEqual(await Promise.all([counter.value(1), counter.value(2), counter.value(3)]), [2, 4, 6]);
  assert.equal(breaker.snapshot().counts.successes, 3);
});

test('@circuitBreaker: failures on one instance open the circuit for another instance', async () => {
  const calls: string[] = [];
  class Client {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }

    @circuitBreaker({ failureThreshold: 2 })
    async fetch(): Promise<string> {
      calls.push(this.name);
      if (this.name === 'a') throw new Error('down');
      return 'ok';
    }
  }
  const a = new Client('a');
  const b = new Client('b');
  await assert.rejects(a.fetch(), /down/);
  await assert.rejects(a.fetch(), /down/);
  await assert.rejects(b.fetch(), { code: 'ERR_CIRCUIT_OPEN' });
  assert.deepEqual(calls, ['a', 'a'], 'b.fetch was not invoked');
});

test('@circuitBreaker: two decorated methods get separate breakers', async () => {
  class Api {
    @circuitBreaker({ failureThreshold: 1 })
    async broken(): Promise<never> {
      throw new Error('down');
    }

    @circuitBreaker({ failureThreshold: 1 })
    async healthy(): Promise<string> {
      return 'ok';
    }
  }
  const api = new Api();
  await assert.rejects(api.broken(), /down/);
  await assert.rejects(api.broken(), { code: 'ERR_CIRCUIT_OPEN' });
  assert.equal(await api.healthy(), 'ok');
});

test('@circuitBreaker(breaker) uses the given breaker, shared across methods', async () => {
  const shared = new CircuitBreaker({ failureThreshold: 1 });
  class Api {
    @circuitBreaker(shared)
    async broken(): Promise<never> {
      throw new Error('down');
    }

    @circuitBreaker(shared)
    async other(): Promise<string> {
      return 'ok';
    }
  }
  const api = new Api();
  await assert.rejects(api.broken(), /down/);
  assert.equal(shared.state, CircuitState.OPEN);
  await assert.rejects(api.other(), { code: 'ERR_CIRCUIT_OPEN' });
});

test('@circuitBreaker works on a static method', async () => {
  class Util {
    static prefix = '>';

    @circuitBreaker()
    static async tag(value: string): Promise<string> {
      return `${this.prefix}${value}`;
    }
  }
  assert.equal(await Util.tag('x'), '>x');
});

test('@circuitBreaker validates its options when the class is defined', () => {
  assert.throws(() => circuitBreaker({ failureThreshold: 0 }), { code: 'ERR_INVALID_CONFIG', path: 'failureThreshold', message: /^failureThreshold: .*got 0$/ });
});

test('@circuitBreaker refuses to decorate anything but a method', () => {
  const decorate = circuitBreaker();
  const context = { kind: 'getter', name: 'x' } as unknown as ClassMethodDecoratorContext;
  assert.throws(() => decorate(() => 1, context), { name: 'TypeError', message: /methods only/ });
});
