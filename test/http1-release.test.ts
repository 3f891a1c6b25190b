/**
 * Freeing body buffers by hand (lib/http1/release.ts): what is freed, what is left alone, and the
 * order in which a ReleaseQueue frees the memory of completed writes.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { RELEASE_MIN_BYTES, ReleaseQueue, releasableMemory, releaseMemory, released } from '../lib/http1/release.js';

/** Memory big enough to free by hand, filled so that a test can see it is intact. */
function memoryOf(size = RELEASE_MIN_BYTES, fill = 7): ArrayBuffer {
  const buffer = Buffer.allocUnsafeSlow(size).fill(fill);
  return buffer.buffer as ArrayBuffer;
}

test('releaseMemory frees the memory: every view of it reads as empty, and the counts go up', () => {
  const memory = memoryOf(RELEASE_MIN_BYTES * 2);
  const view = Buffer.from(memory, 100, 50);
  const before = { ...released };
  releaseMemory(memory);
  assert.equal(memory.byteLength, 0);
  assert.equal(view.length, 0);
  assert.equal(released.buffers, before.buffers + 1);
  assert.equal(released.bytes, before.bytes + RELEASE_MIN_BYTES * 2);
});

test('releaseMemory leaves memory it cannot free as it was, and does not throw', () => {
  const before = { ...released };
  // Node's pool of small buffers is marked untransferable.
  const pooled = Buffer.from('pooled bytes');
  releaseMemory(pooled.buffer as ArrayBuffer);
  assert.equal(pooled.toString(), 'pooled bytes');
  // A shared buffer cannot be transferred at all.
  const shared = new SharedArrayBuffer(RELEASE_MIN_BYTES);
  releaseMemory(shared as unknown as ArrayBuffer);
  assert.equal(shared.byteLength, RELEASE_MIN_BYTES);
  assert.deepEqual(released, before);
});

test('releasableMemory: the memory under a chunk, when it is at least RELEASE_MIN_BYTES', () => {
  const big = memoryOf();
  assert.equal(releasableMemory(Buffer.from(big)), big);
  assert.equal(releasableMemory(Buffer.from(big, 10, 20)), big, 'a piece of a big read names the whole read');
  assert.equal(releasableMemory(Buffer.allocUnsafeSlow(RELEASE_MIN_BYTES - 1)), undefined);
  assert.equal(releasableMemory(Buffer.from('small')), undefined);
});

test('ReleaseQueue frees each memory when its write is called back, in write order', () => {
  const queue = new ReleaseQueue();
  const first = memoryOf();
  const second = memoryOf();
  const callback = queue.track(first);
  assert.equal(queue.track(second), callback, 'one callback serves every write');
  assert.equal(queue.pending, 2);
  callback();
  assert.equal(first.byteLength, 0);
  assert.equal(second.byteLength, RELEASE_MIN_BYTES);
  callback(null);
  assert.equal(second.byteLength, 0);
  assert.equal(queue.pending, 0);
  callback(); // a stray callback with nothing queued changes nothing
  assert.equal(queue.pending, 0);
});

test('ReleaseQueue frees a memory written in several pieces after the last of them', () => {
  const queue = new ReleaseQueue();
  const read = memoryOf();
  const next = memoryOf();
  queue.track(read);
  queue.track(read);
  queue.track(next);
  queue.written();
  assert.equal(read.byteLength, RELEASE_MIN_BYTES, 'a piece of it is still being written');
  queue.written();
  assert.equal(read.byteLength, 0);
  assert.equal(next.byteLength, RELEASE_MIN_BYTES);
});

test('ReleaseQueue never frees the held memory', () => {
  const queue = new ReleaseQueue();
  const held = memoryOf();
  queue.hold = held;
  queue.track(held);
  queue.written();
  assert.equal(held.byteLength, RELEASE_MIN_BYTES);
});

test('after a failed write a ReleaseQueue frees nothing more', () => {
  const queue = new ReleaseQueue();
  const failed = memoryOf();
  const later = memoryOf();
  queue.track(failed);
  queue.track(later);
  queue.written(new Error('write EPIPE'));
  queue.written();
  assert.equal(failed.byteLength, RELEASE_MIN_BYTES);
  assert.equal(later.byteLength, RELEASE_MIN_BYTES);
  assert.equal(queue.pending, 0);
});
