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

/**
 * The primary's messages to the workers travel at once, or while `wire.paused` wait in order
 * until `wire.flush()`: the round trip a worker's report waits for under load.
 */
interface Wire {
  paused: boolean;
  flush(): void;
  /** Messages sent to the workers, in order, for assertions. */
  sent: Array<{ to: number; message: ToWorker }>;
}

type Options = { failureThreshold?: number; resetTimeout?: number; halfOpenMaxCalls?: number };

function cluster(options: Options = {}): { authority: BreakerAuthority<Worker>; workers: Worker[]; wire: Wire } {
  const authority = new BreakerAuthority<Worker>();
  const breaker = authority.makeBreaker(ORIGIN, { failureThreshold: 3, resetTimeout: 20, jitter: 0, ...options, callTimeout: Infinity });
  breaker.on('stateChange', ({ from, to, failures }) => authority.changed({ target: ORIGIN, from, to, failures }));
  const workers: Worker[] = [];
  const queued: Array<() => void> = [];
  const wire: Wire = {
    paused: false,
    sent: [],
    flush: () => {
      while (queued.length > 0) queued.shift()!();
    },
  };
  const deliver = (worker: Worker, message: ToWorker): void => {
    wire.sent.push({ to: workers.indexOf(worker), message });
    if (wire.paused) queued.push(() => receive(worker, message));
    else receive(worker, message);
  };
  const receive = (worker: Worker, message: ToWorker): void => {
    if (message.type === 'state') worker.mirror.apply(message.state);
    else if (message.type === 'tally') worker.mirror.tally(message.epoch, message.failures);
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
      workers: 2,
      failure: (mirror, epoch, message) => {
        const successes = mirror.pendingEpoch === epoch ? mirror.pendingSuccesses : 0;
        mirror.pendingSuccesses = 0;
        authority.outcomes(worker, ORIGIN, epoch, successes, 0, message);
      },
      probe: (_mirror, epoch, outcome, message) => authority.probe(worker, ORIGIN, epoch, outcome, message),
      flush: () => {
        authority.outcomes(worker, ORIGIN, worker.mirror.pendingEpoch, worker.mirror.pendingSuccesses, worker.mirror.pendingSlow, undefined);
        worker.mirror.pendingSuccesses = 0;
      },
    };
    worker.mirror = new MirroredBreaker(ORIGIN, { failureThreshold: options.failureThreshold ?? 3 }, worker.link, authority.states()[0]);
    workers.push(worker);
  }
  return { authority, workers, wire };
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

test('a burst of unanswered failures holds a worker near the threshold until the primary answers', (t) => {
  const { authority, workers, wire } = cluster({ failureThreshold: 5 });
  t.after(() => authority.close());
  const [a, b] = workers;
  wire.paused = true;
  // Two workers, so each unanswered failure of a burst counts twice: 1, then 2 x 2 = 4, then 3 x 2 = 6 >= 5.
  a!.mirror.admit()!.failure(new Error('x'));
  a!.mirror.admit()!.failure(new Error('x'));
  const ticket = a!.mirror.admit();
  assert.ok(ticket, 'two unanswered failures of five do not hold');
  ticket.failure(new Error('x'));
  assert.equal(a!.mirror.admit(), undefined, 'three do');
  assert.equal(a!.mirror.state, 'CLOSED');
  assert.equal(a!.mirror.snapshot().counts.rejections, 1);
  assert.ok(b!.mirror.admit(), 'the other worker has nothing unanswered');
  // The primary answers each report with the count: 3 failures, none unanswered, admitting again.
  wire.flush();
  assert.deepEqual(
    wire.sent.filter((s) => s.message.type === 'tally').map((s) => [s.to, (s.message as { failures: number }).failures]),
    [[0, 1], [0, 2], [0, 3]],
  );
  assert.ok(a!.mirror.admit());
});

test('a lone unanswered failure holds only where it reaches the threshold with the count last answered', (t) => {
  const { authority, workers, wire } = cluster({ failureThreshold: 5 });
  t.after(() => authority.close());
  const [a, b] = workers;
  for (let i = 0; i < 3; i++) a!.mirror.admit()!.failure(new Error('x'));
  wire.paused = true;
  // Known 3, plus one of its own: 4 < 5, as sequential requests through one process would be admitted.
  a!.mirror.admit()!.failure(new Error('x'));
  assert.ok(a!.mirror.admit());
  wire.flush();
  // Known 4: the next failure may be the fifth, so the worker waits for the primary's word.
  a!.mirror.admit()!.failure(new Error('x'));
  assert.equal(a!.mirror.admit(), undefined);
  assert.equal(b!.mirror.state, 'CLOSED', 'the opening is still on its way');
  wire.flush();
  assert.deepEqual([a!.mirror.state, b!.mirror.state], ['OPEN', 'OPEN']);
  assert.equal(wire.sent.filter((s) => s.message.type === 'tally').length, 4, 'the failure that opened the circuit is answered by the broadcast');
});

test('a hold that proves needless ends with the answer: the circuit stays CLOSED', (t) => {
  const { authority, workers, wire } = cluster({ failureThreshold: 3 });
  t.after(() => authority.close());
  const [a, b] = workers;
  a!.mirror.admit()!.failure(new Error('x'));
  b!.mirror.admit()!.success();
  b!.link.flush();
  wire.paused = true;
  // Known 1, then two unanswered: 1 + 2 x 2 >= 3, held; the primary's count is 2 (b's success reset it).
  heldByTwoFailuresUntilAnswered(a!.mirror, wire);
});

test('successes between failures break the run: a failure rate does not hold a worker', (t) => {
  const { authority, workers, wire } = cluster({ failureThreshold: 3 });
  t.after(() => authority.close());
  const [a] = workers;
  wire.paused = true;
  // Six unanswered failures, each after a success: never two in a row, so never a burst.
  for (let i = 0; i < 6; i++) {
    a!.mirror.admit()!.success();
    a!.mirror.admit()!.failure(new Error('x'));
    const next = a!.mirror.admit();
    assert.ok(next, `admitted after failure ${i + 1}`);
    next.success();
  }
  // Two in a row are: 0 + 2 x 2 >= 3.
  heldByTwoFailuresUntilAnswered(a!.mirror, wire);
});

/** Two failures in a row hold `mirror`; the primary's answers (the circuit still CLOSED) end the hold. */
function heldByTwoFailuresUntilAnswered(mirror: MirroredBreaker, wire: Wire): void {
  mirror.admit()!.failure(new Error('x'));
  mirror.admit()!.failure(new Error('x'));
  assert.equal(mirror.admit(), undefined);
  wire.flush();
  assert.equal(mirror.state, 'CLOSED');
  assert.ok(mirror.admit());
}
