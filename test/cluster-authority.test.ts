/**
 * The cluster's breaker protocol in one process: the primary's `BreakerAuthority` and two workers'
 * `MirroredBreaker`s wired by direct calls in place of IPC (delivered in order, as IPC is).
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { BreakerAuthority, type Peers } from '../lib/cluster/authority.js';
import { MirroredBreaker, type MirrorLink } from '../lib/cluster/mirror.js';
import type { ToWorker } from '../lib/cluster/protocol.js';
import { waitFor } from './support/wait.js';

const ORIGIN = 'http://127.0.0.1:9';

interface Worker {
  mirror: MirroredBreaker;
  link: MirrorLink & { flush(): void };
}

function cluster(options: { failureThreshold?: number; resetTimeout?: number; halfOpenMaxCalls?: number } = {}): { authority: BreakerAuthority<Worker>; workers: Worker[] } {
  const authority = new BreakerAuthority<Worker>();
  const breaker = authority.makeBreaker(ORIGIN, { failureThreshold: 3, resetTimeout: 20, jitter: 0, ...options, callTimeout: Infinity });
  breaker.on('stateChange', ({ from, to, failures }) => authority.changed({ target: ORIGIN, from, to, failures }));
  const workers: Worker[] = [];
  const deliver = (worker: Worker, message: ToWorker): void => {
    if (message.type === 'state') worker.mirror.apply(message.state);
    else if (message.type === 'grant') worker.mirror.grant(message.epoch, message.slots);
    else if (message.type === 'revoke') authority.returned(worker, ORIGIN, message.epoch, worker.mirror.revoke(message.epoch));
  };
  const peers: Peers<Worker> = {
    send: deliver,
    broadcast: (message) => workers.forEach((worker) => deliver(worker, message)),
    next: (after) => workers[after === undefined ? 0 : (workers.indexOf(after) + 1) % workers.length],
  };
  authority.connect(peers);
  for (let i = 0; i < 2; i++) {
    const worker = {} as Worker;
    worker.link = {
      failure: (mirror, epoch, message) => {
        const successes = mirror.pendingEpoch === epoch ? mirror.pendingSuccesses : 0;
        mirror.pendingSuccesses = 0;
        authority.outcomes(ORIGIN, epoch, successes, 0, message);
      },
      probe: (_mirror, epoch, outcome, message) => authority.probe(worker, ORIGIN, epoch, outcome, message),
      flush: () => {
        authority.outcomes(ORIGIN, worker.mirror.pendingEpoch, worker.mirror.pendingSuccesses, worker.mirror.pendingSlow, undefined);
        worker.mirror.pendingSuccesses = 0;
      },
    };
    worker.mirror = new MirroredBreaker(ORIGIN, { failureThreshold: 3 }, worker.link, authority.states()[0]);
    workers.push(worker);
  }
  return { authority, workers };
}

test('failures in two workers add up to one threshold and open the circuit in both', (t) => {
  const { authority, workers } = cluster();
  t.after(() => authority.close());
  const [a, b] = workers;
  a!.mirror.admit()!.failure(new Error('x'));
  b!.mirror.admit()!.failure(new Error('x'));
  assert.deepEqual([a!.mirror.state, b!.mirror.state], ['CLOSED', 'CLOSED']);
  a!.mirror.admit()!.failure(new Error('x'));
  assert.deepEqual([a!.mirror.state, b!.mirror.state], ['OPEN', 'OPEN']);
  assert.equal(b!.mirror.admit(), undefined);
});

test("a worker's successes reach the primary before its later failure and reset the count", (t) => {
  const { authority, workers } = cluster();
  t.after(() => authority.close());
  const [a] = workers;
  a!.mirror.admit()!.failure(new Error('x'));
  a!.mirror.admit()!.failure(new Error('x'));
  a!.mirror.admit()!.success();
  a!.mirror.admit()!.failure(new Error('x'));
  assert.equal(a!.mirror.state, 'CLOSED');
  assert.equal(a!.mirror.snapshot().counts.failures, 3);
});

test('an outcome of a ticket admitted before the circuit changed is dropped', (t) => {
  const { authority, workers } = cluster({ failureThreshold: 1 });
  t.after(() => authority.close());
  const [a, b] = workers;
  const late = b!.mirror.admit()!;
  a!.mirror.admit()!.failure(new Error('x'));
  assert.equal(b!.mirror.state, 'OPEN');
  late.failure(new Error('late'));
  assert.equal(b!.mirror.snapshot().counts.failures, 0);
});

test('a half-open period grants its probe slot to one worker only; its success closes the circuit for both', async (t) => {
  const { authority, workers } = cluster({ failureThreshold: 1, resetTimeout: 20 });
  t.after(() => authority.close());
  const [a, b] = workers;
  a!.mirror.admit()!.failure(new Error('x'));
  await waitFor('HALF_OPEN', () => a!.mirror.state === 'HALF_OPEN', 10_000);
  const probe = a!.mirror.admit();
  assert.ok(probe?.probe);
  assert.equal(a!.mirror.admit(), undefined);
  assert.equal(b!.mirror.admit(), undefined);
  probe.success();
  assert.deepEqual([a!.mirror.state, b!.mirror.state], ['CLOSED', 'CLOSED']);
});

test('an unused probe grant moves to the next worker', async (t) => {
  const { authority, workers } = cluster({ failureThreshold: 1, resetTimeout: 20 });
  t.after(() => authority.close());
  const [a, b] = workers;
  a!.mirror.admit()!.failure(new Error('x'));
  await waitFor('the grant to move to the second worker', () => b!.mirror.snapshot().state === 'HALF_OPEN' && probeSlotOf(b!.mirror), 3_000);
  assert.equal(a!.mirror.admit(), undefined);
  const probe = b!.mirror.admit()!;
  probe.failure(new Error('still down'));
  assert.deepEqual([a!.mirror.state, b!.mirror.state], ['OPEN', 'OPEN']);
});

test("a dead worker's probe slot goes to another worker, uncharged", async (t) => {
  const { authority, workers } = cluster({ failureThreshold: 1, resetTimeout: 20 });
  t.after(() => authority.close());
  const [a, b] = workers;
  a!.mirror.admit()!.failure(new Error('x'));
  await waitFor('HALF_OPEN', () => a!.mirror.state === 'HALF_OPEN', 10_000);
  assert.ok(a!.mirror.admit()?.probe);
  authority.departed(a!);
  assert.equal(b!.mirror.state, 'HALF_OPEN');
  assert.ok(b!.mirror.admit()?.probe);
});

/** Whether `mirror` holds a probe slot, found by taking it and giving it back. */
function probeSlotOf(mirror: MirroredBreaker): boolean {
  const ticket = mirror.admit();
  if (ticket === undefined) return false;
  ticket.release();
  return true;
}
