/**
 * Frees body buffers as soon as the socket they were written to is done with them, instead of
 * whenever V8 gets to them.
 *
 * Why: a streaming proxy goes through a fresh buffer per socket read (each read of a target's
 * response, and Node's HTTP server's copy of each piece of a request body), and that memory lives
 * outside V8's heap. V8 collects it lazily: it starts a collection when about 64 MB of it has
 * built up since the last one. A long transfer therefore held 30-40 MB of dead buffers (bench:
 * +34 MB RSS for 1 GiB, the same for 4 GiB; the issue's target is under 30 MB). Freeing each
 * buffer once its write completed keeps the proxy within a few MB of where it started.
 *
 * How: transferring an ArrayBuffer detaches it, and a message posted on a closed port is never
 * delivered, so the memory goes with the message at once. HTML's postMessage serializes with
 * transfer even on a port that is no longer entangled, and Node does the same (its test
 * test-worker-message-port-transfer-target checks that the buffer is detached). On Node >= 22,
 * `ArrayBuffer.prototype.transfer(0)` would say this directly; Node 20 does not have it.
 *
 * A freed buffer reads as empty. So only buffers nothing else can still read are freed: see the
 * callers (UpstreamConnection for request bodies, Exchange for response bodies).
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';

/**
 * Smaller buffers are left to the GC. Freeing one costs about a microsecond; a small read costs
 * the GC little and is not where the memory goes (a fast transfer reads 64 KiB at a time).
 */
export const RELEASE_MIN_BYTES = 16 * 1024;

/** Buffers and bytes freed by this process, for tests and debugging. */
export const released = { buffers: 0, bytes: 0 };

let closedPort: MessagePort | undefined;

/** Frees `memory` now. It must be memory nothing will read again: it becomes empty. */
export function releaseMemory(memory: ArrayBuffer): void {
  if (closedPort === undefined) {
    // A closed port holds no handle: it never keeps the process alive.
    const { port1 } = new MessageChannel();
    port1.close();
    closedPort = port1;
  }
  const bytes = memory.byteLength;
  try {
    closedPort.postMessage(undefined, [memory]);
  } catch {
    return; // not transferable: the GC frees it
  }
  // Node's pooled small buffers are marked untransferable and stay as they are.
  if (memory.byteLength !== 0) return;
  released.buffers++;
  released.bytes += bytes;
}

/** The memory under `chunk` when it is big enough to free by hand (see RELEASE_MIN_BYTES). */
export function releasableMemory(chunk: Buffer): ArrayBuffer | undefined {
  const memory = chunk.buffer;
  return memory.byteLength >= RELEASE_MIN_BYTES ? (memory as ArrayBuffer) : undefined;
}

/**
 * The memory of the writes made to one stream, freed in write order as each write completes.
 *
 * A stream calls its write callbacks in the order of the writes, so one callback (`written`)
 * serves the whole queue: no closure per write. A memory may be queued several times in a row
 * (several pieces of one socket read); it is freed after the last of them. After any failed
 * write nothing more is freed: the stream is broken, and a callback that never comes would
 * otherwise shift the queue onto writes still under way.
 */
export class ReleaseQueue {
  readonly #pending: ArrayBuffer[] = [];
  #failed = false;
  /** Memory that is also in a write made without `written` (so it is never freed here). */
  hold: ArrayBuffer | undefined = undefined;

  /** Queues `memory` for the write about to be made; returns that write's callback. */
  track(memory: ArrayBuffer): (error?: Error | null) => void {
    this.#pending.push(memory);
    return this.written;
  }

  /** Writes made but not yet called back. */
  get pending(): number {
    return this.#pending.length;
  }

  readonly written = (error?: Error | null): void => {
    const memory = this.#pending.shift();
    if (error) this.#failed = true;
    if (memory === undefined || this.#failed || this.#pending[0] === memory || memory === this.hold) return;
    releaseMemory(memory);
  };
}
