/** The cluster's small pieces: the summed snapshot, whole-line output, the restart delay. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterSnapshot, Departed } from '../lib/cluster/aggregate.js';
import { LineOutput, PIPE_BUF } from '../lib/cluster/line-output.js';
import { restartDelay } from '../lib/cluster/primary.js';
import { createProxy, type ProxySnapshot, type TargetSnapshot } from '../lib/index.js';

const ORIGIN = 'http://127.0.0.1:9';

function snapshotWith(change: (target: TargetSnapshot) => void): ProxySnapshot {
  const snapshot = createProxy({ targets: [ORIGIN] }).snapshot();
  change(snapshot.targets[0]!);
  return snapshot;
}

test('counters and in-flight gauges add up over workers; the state is the primary’s', () => {
  const primary = snapshotWith((target) => {
    target.state = 'OPEN';
    target.transitions['CLOSED>OPEN'] = 1;
  });
  const worker = (n: number): ProxySnapshot =>
    snapshotWith((target) => {
      target.requests.success = n;
      target.counts.admitted = n;
      target.inFlight = 1;
      target.latency.counts[0] = n;
      target.latency.count = n;
      target.transitions['CLOSED>OPEN'] = 1;
    });
  const [target] = clusterSnapshot(primary, [worker(3), worker(4)], new Departed()).targets;
  assert.equal(target!.state, 'OPEN');
  assert.equal(target!.transitions['CLOSED>OPEN'], 1);
  assert.deepEqual([target!.requests.success, target!.counts.admitted, target!.inFlight, target!.latency.count], [7, 7, 2, 7]);
  assert.equal(target!.latency.p50, 0.0005);
});

test('the counts of a worker that exited stay in the sum, its gauges do not', () => {
  const primary = snapshotWith(() => {});
  const departed = new Departed();
  departed.add(
    snapshotWith((target) => {
      target.requests.success = 5;
      target.inFlight = 2;
    }),
  );
  const [target] = clusterSnapshot(primary, [], departed).targets;
  assert.deepEqual([target!.requests.success, target!.inFlight], [5, 0]);
});

test('LineOutput writes whole lines, at most PIPE_BUF bytes per write', () => {
  const writes: string[] = [];
  const line = `${'x'.repeat(999)}\n`;
  new LineOutput({ write: (chunk: string) => writes.push(chunk) }).write(line.repeat(10));
  assert.deepEqual(
    writes.map((chunk) => chunk.length),
    [4000, 4000, 2000],
  );
  assert.ok(writes.every((chunk) => chunk.length <= PIPE_BUF && chunk.endsWith('\n')));
});

test('a worker that keeps dying early is replaced at once the first time, then with a doubling delay up to 10 s', () => {
  assert.deepEqual([1, 2, 3, 4, 30].map(restartDelay), [0, 100, 200, 400, 10_000]);
});
