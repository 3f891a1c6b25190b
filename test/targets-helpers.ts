/**
 * Shared helpers of the `targets-*` tests: a bounded HTTP client, a proxy on port 0, and fixture
 * upstreams, all closed by the test that made them. Not a test file itself (no `.test.ts`).
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ModeName, UpstreamMode } from '../fixtures/modes.js';
import type { Upstream } from '../fixtures/upstream.js';
import type { Proxy, ProxyOptions, TargetSnapshot } from '../lib/index.js';
import * as support from './support/http.js';
import { startedProxy, startedUpstream, type StartedProxy } from './support/servers.js';
import { waitFor } from './support/wait.js';

export { sleep };

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  /** Ms before the request is abandoned with an error. @default 5000 */
  timeout?: number;
  signal?: AbortSignal;
  /** Client agent; by default a fresh connection per request. */
  agent?: http.Agent;
}

/** One request on a fresh connection (no client keep-alive, so nothing outlives the test). */
export async function request(base: string, options: RequestOptions = {}): Promise<Reply> {
  const { path = '/', timeout = 5000, ...rest } = options;
  const reply = await support.request(new URL(path, base), { ...rest, timeout });
  return { status: reply.status, headers: reply.headers, body: reply.text };
}

/** A keep-alive client agent for bursts, destroyed after the test. */
export function keepAliveAgent(t: TestContext): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  return agent;
}

/** Starts `count` fixture upstreams, closed after the test. */
export function upstreams(t: TestContext, modes: ReadonlyArray<UpstreamMode | ModeName>): Promise<Upstream[]> {
  return Promise.all(modes.map((mode) => startedUpstream(t, { mode })));
}

/** A proxy listening on 127.0.0.1:0, closed after the test (requests still hanging are cut off). */
export function startProxy(t: TestContext, options: ProxyOptions): Promise<StartedProxy> {
  return startedProxy(t, options, 50);
}

/** The snapshot of one target, by its fixture. */
export function targetOf(proxy: Proxy, upstream: Upstream): TargetSnapshot {
  const found = proxy.snapshot().targets.find((target) => target.target === upstream.url);
  assert.ok(found, `no target ${upstream.url} in the snapshot`);
  return found;
}

/** Polls `check` every 5 ms until it is true; fails the test after `timeout` ms. */
export function until(check: () => boolean, what: string, timeout = 3000): Promise<void> {
  return waitFor(what, check, timeout, 5);
}

/** Sends `count` GETs one after another; returns their statuses. */
export async function sequential(base: string, count: number, options: RequestOptions = {}): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await request(base, options)).status);
  return statuses;
}

/** Requests each upstream has received since `before` (from `counts()`). */
export function counts(list: readonly Upstream[]): number[] {
  return list.map((upstream) => upstream.stats().requests);
}

export function since(list: readonly Upstream[], before: readonly number[]): number[] {
  return counts(list).map((now, i) => now - before[i]!);
}

/** Tracks the highest `inFlight` the fixture reports, polling every millisecond until stopped. */
export function watchInFlight(upstream: Upstream): { readonly max: number; stop(): void } {
  let max = 0;
  const timer = setInterval(() => {
    max = Math.max(max, upstream.stats().inFlight);
  }, 1);
  return {
    get max() {
      return Math.max(max, upstream.stats().inFlight);
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * A request that takes the only slot of a hanging `target` (`maxConcurrent: 1`): resolves once
 * the target holds it; `release()` cuts it and waits for it to end (it is cut at the test's end
 * anyway).
 */
export async function holdSlot(t: TestContext, url: string, target: Upstream): Promise<{ release(): Promise<void> }> {
  const abort = new AbortController();
  t.after(() => abort.abort());
  const holding = request(url, { signal: abort.signal }).catch(() => undefined);
  await until(() => target.stats().inFlight === 1, 'the hanging request to hold the slot');
  return {
    async release() {
      abort.abort();
      await holding;
    },
  };
}
