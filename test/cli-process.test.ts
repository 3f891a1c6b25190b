/** Signal handling in-process: the handlers are called through process.emit, exit is a spy. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { Log } from '../lib/cli/log.js';
import { describeError, onReloadSignal, onStopSignals } from '../lib/cli/process.js';
import { restoreSignals } from './cli-helpers.js';

function memoryLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  return { log: new Log('text', { write: (line: string) => lines.push(line) }), lines };
}

test('the first SIGTERM drains and exits 0; a second one exits 1 at once', async (t) => {
  restoreSignals(t);
  const { log, lines } = memoryLog();
  const exits: number[] = [];
  let finish!: () => void;
  onStopSignals({ log, stop: () => new Promise<void>((resolve) => (finish = resolve)), inFlight: () => 2, exit: (code) => void exits.push(code) });
  process.emit('SIGTERM', 'SIGTERM');
  assert.deepEqual(exits, []);
  assert.match(lines[0]!, /SIGTERM: stopped accepting; waiting for 2 requests in flight \(up to 10 s\); SIGTERM again exits now\n$/);
  process.emit('SIGINT', 'SIGINT');
  assert.deepEqual(exits, [1]);
  assert.match(lines[1]!, /warning: SIGINT again: exiting without waiting/);
  finish();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(exits, [1, 0]);
});

test('a drain that fails exits 1 with one line', async (t) => {
  restoreSignals(t);
  const { log, lines } = memoryLog();
  const exits: number[] = [];
  onStopSignals({ log, stop: () => Promise.reject(new Error('stuck')), exit: (code) => void exits.push(code) });
  process.emit('SIGINT', 'SIGINT');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(exits, [1]);
  assert.match(lines.at(-1)!, /error: stopped with an error: Error: stuck at /);
});

test('SIGHUP runs the reload', (t) => {
  restoreSignals(t);
  let reloads = 0;
  onReloadSignal(() => reloads++);
  process.emit('SIGHUP', 'SIGHUP');
  assert.equal(reloads, 1);
});

test('describeError keeps a bug to one line: name, message, first frame', () => {
  assert.match(describeError(new TypeError('x is undefined')), /^TypeError: x is undefined at .*\(.*cli-process\.test\.ts:\d+:\d+\)$/);
  assert.equal(describeError('plain'), 'plain');
  const bare = new Error('no stack');
  bare.stack = undefined;
  assert.equal(describeError(bare), 'Error: no stack');
});
