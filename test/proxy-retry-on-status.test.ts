/**
 * Retry on status (`retryOn`): an idempotent request without a body whose answer has a listed
 * status goes to another target, the answer dropped before any of it reached the client.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test, type TestContext } from 'node:test';
import { metricsText } from '../lib/admin/metrics.js';
import type { ResponseInfo } from '../lib/index.js';
import { request } from './support/http.js';
import { listening, startedProxy, startedUpstream } from './support/servers.js';

interface StatusServer {
  url: string;
  /** Requests it answered. */
  readonly hits: number;
}

/** A target that answers every request with `status`, a body naming it, and `headers(hit)`. */
async function statusServer(t: TestContext, status: number, headers: (hit: number) => Record<string, string> = () => ({})): Promise<StatusServer> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    hits++;
    res.writeHead(status, { 'content-type': 'text/plain', ...headers(hits) });
    res.end(`answer ${status} of the first target\n`);
  });
  const url = await listening(t, server);
  return {
    url,
    get hits() {
      return hits;
    },
  };
}

function responses(proxy: { on(event: 'response', listener: (info: ResponseInfo) => void): unknown }): ResponseInfo[] {
  const seen: ResponseInfo[] = [];
  proxy.on('response', (info) => seen.push(info));
  return seen;
}

test('a GET answered 503 by one target is retried on another: the client gets 200 and never the 503 body', async (t) => {
  const a = await statusServer(t, 503);
  const b = await startedUpstream(t);
  // Round-robin starts at the first target.
  const { proxy, url } = await startedProxy(t, { targets: [a.url, b.url], retryOn: '502-504' });
  const seen = responses(proxy);
  const reply = await request(`${url}/x`);
  assert.equal(reply.status, 200);
  assert.equal((reply.json() as { url: string }).url, '/x');
  assert.doesNotMatch(reply.text, /first target/);
  assert.equal(a.hits, 1);
  assert.equal(b.stats().requests, 1);
  assert.equal(seen[0]!.retries, 1);
  const [ta, tb] = [a.url, b.url].map((origin) => proxy.snapshot().targets.find((target) => target.target === origin)!);
  assert.equal(ta!.statusRetries, 1, 'the retry is counted on the target whose answer was dropped');
  assert.equal(tb!.statusRetries, 0);
  assert.match(metricsText(proxy.snapshot()), new RegExp(`^proxy_breaker_status_retries_total\\{target="${a.url}"\\} 1$`, 'm'));
});

test('the answer that triggered a retry still counts for its breaker as its status says', async (t) => {
  const a = await statusServer(t, 503);
  const b = await startedUpstream(t);
  const { proxy, url } = await startedProxy(t, { targets: [a.url, b.url], retryOn: '503', breaker: { failureThreshold: 1, resetTimeout: 60_000 } });
  assert.equal((await request(url)).status, 200);
  const ta = proxy.snapshot().targets.find((target) => target.target === a.url)!;
  assert.equal(ta.state, 'OPEN');
  assert.equal(ta.counts.failures, 1);
  assert.equal(ta.requests.failure_status, 1);
});

test('a POST with a body is not retried: its 503 is relayed as it is', async (t) => {
  const a = await statusServer(t, 503);
  const b = await startedUpstream(t);
  const { proxy, url } = await startedProxy(t, { targets: [a.url, b.url], retryOn: '503' });
  const reply = await request(url, { method: 'POST', body: 'payload' });
  assert.equal(reply.status, 503);
  assert.equal(reply.text, 'answer 503 of the first target\n');
  assert.equal(b.stats().requests, 0);
  assert.equal(proxy.snapshot().targets.find((target) => target.target === a.url)!.statusRetries, 0);
});

test('with the retry budget spent the 503 is relayed, not retried', async (t) => {
  const a = await statusServer(t, 503);
  const b = await startedUpstream(t);
  const { url } = await startedProxy(t, { targets: [a.url, b.url], retryOn: '503', retryBudgetPercent: 0, retryBudgetMin: 0 });
  const reply = await request(url);
  assert.equal(reply.status, 503);
  assert.equal(reply.text, 'answer 503 of the first target\n');
  assert.equal(b.stats().requests, 0);
});

test('with retries 0 the 503 is relayed, not retried', async (t) => {
  const a = await statusServer(t, 503);
  const b = await startedUpstream(t);
  const { url } = await startedProxy(t, { targets: [a.url, b.url], retryOn: '503', retries: 0 });
  assert.equal((await request(url)).status, 503);
  assert.equal(b.stats().requests, 0);
});

test('when no other target admits the request the 503 is relayed with its body', async (t) => {
  const a = await statusServer(t, 503);
  const b = await startedUpstream(t);
  const { proxy, url } = await startedProxy(t, { targets: [a.url, b.url], retryOn: '503' });
  proxy.breakers.open(b.url);
  const reply = await request(url);
  assert.equal(reply.status, 503);
  assert.equal(reply.text, 'answer 503 of the first target\n');
});

test('a status not listed in retryOn is relayed as it is', async (t) => {
  const a = await statusServer(t, 500);
  const b = await startedUpstream(t);
  const { url } = await startedProxy(t, { targets: [a.url, b.url], retryOn: '502-504' });
  const reply = await request(url);
  assert.equal(reply.status, 500);
  assert.equal(reply.text, 'answer 500 of the first target\n');
  assert.equal(b.stats().requests, 0);
});

test('a Retry-After keeps its target out of retries until it passes, not out of balancing', async (t) => {
  // The first target asks for a 1 s pause once; all three answer 503 every time.
  const a = await statusServer(t, 503, (hit): Record<string, string> => (hit === 1 ? { 'retry-after': '1' } : {}));
  const b = await statusServer(t, 503);
  const c = await statusServer(t, 503);
  const hits = (): number[] => [a.hits, b.hits, c.hits];
  const { proxy, url } = await startedProxy(t, { targets: [a.url, b.url, c.url], retryOn: '503', retries: 1 });
  const heldUntil = (): number | null => proxy.snapshot().targets.find((target) => target.target === a.url)!.retryAfterAt;
  // Round-robin: a (which asks for the pause), retried on b.
  assert.equal((await request(url)).status, 503);
  assert.deepEqual(hits(), [1, 1, 0]);
  const held = heldUntil();
  assert.ok(held !== null && held > Date.now() && held <= Date.now() + 1000, `retryAfterAt ${held}`);
  // c, whose retry would go to a next in turn: it goes to b instead.
  assert.equal((await request(url)).status, 503);
  assert.deepEqual(hits(), [1, 2, 1], 'the retry skipped the target that asked for a pause');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal(heldUntil(), null);
  // c again, and its retry goes to a now that the pause has passed.
  assert.equal((await request(url)).status, 503);
  assert.deepEqual(hits(), [2, 2, 2]);
});
