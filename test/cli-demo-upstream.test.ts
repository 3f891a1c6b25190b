/** The demo's own upstream (lib/cli/demo-upstream.ts): it answers, fails, hangs and recovers on command. */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { demoCommands, startDemoUpstream, type DemoUpstream } from '../lib/cli/demo-upstream.js';

interface Reply {
  status: number;
  body: string;
}

function send(url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function started(t: TestContext): Promise<DemoUpstream> {
  const upstream = await startDemoUpstream();
  t.after(() => upstream.close());
  return upstream;
}

test('the demo upstream answers 200 and counts the request', async (t) => {
  const upstream = await started(t);
  const reply = await send(`${upstream.url}/hello`);
  assert.deepEqual(reply, { status: 200, body: 'hello from the demo upstream\n' });
  assert.equal(upstream.requests(), 1);
});

test('POST /__demo/fail?status=503 makes every request fail with 503; control requests are not counted', async (t) => {
  const upstream = await started(t);
  const control = await send(`${upstream.url}/__demo/fail?status=503`, 'POST');
  assert.equal(control.status, 200);
  assert.deepEqual(JSON.parse(control.body), { mode: { type: 'status', status: 503 } });
  assert.equal((await send(`${upstream.url}/hello`)).status, 503);
  assert.equal((await send(`${upstream.url}/other`, 'POST')).status, 503);
  assert.equal(upstream.requests(), 2);
  assert.deepEqual(JSON.parse((await send(`${upstream.url}/__demo/stats`)).body), { mode: { type: 'status', status: 503 }, requests: 2 });
});

test('POST /__demo/recover after a failure makes it answer 200 again', async (t) => {
  const upstream = await started(t);
  upstream.setMode({ type: 'status', status: 500 });
  assert.equal((await send(`${upstream.url}/hello`)).status, 500);
  assert.equal((await send(`${upstream.url}/__demo/recover`, 'POST')).status, 200);
  assert.deepEqual(upstream.mode(), { type: 'ok' });
  assert.equal((await send(`${upstream.url}/hello`)).status, 200);
});

test('a hanging upstream never answers, and close() ends the hanging request', async (t) => {
  const upstream = await started(t);
  assert.equal((await send(`${upstream.url}/__demo/hang`, 'POST')).status, 200);
  let settled = false;
  const pending = send(`${upstream.url}/hello`).finally(() => (settled = true));
  while (upstream.requests() === 0) await sleep(5);
  assert.equal(settled, false, 'a hanging upstream answered');
  await upstream.close();
  await assert.rejects(pending, (error: NodeJS.ErrnoException) => error.code === 'ECONNRESET');
});

test('a fail command with a status outside 200-599 is refused with 400 and the mode stays', async (t) => {
  const upstream = await started(t);
  const reply = await send(`${upstream.url}/__demo/fail?status=99`, 'POST');
  assert.equal(reply.status, 400);
  assert.match(reply.body, /Expected `status` to be an integer from 200 to 599, received 99/);
  assert.deepEqual(upstream.mode(), { type: 'ok' });
  assert.throws(() => upstream.setMode({ type: 'status', status: 600 }), RangeError);
});

test('a command with the wrong method is 405 and an unknown one is 404', async (t) => {
  const upstream = await started(t);
  assert.equal((await send(`${upstream.url}/__demo/hang`)).status, 405);
  assert.equal((await send(`${upstream.url}/__demo/stats`, 'POST')).status, 405);
  assert.equal((await send(`${upstream.url}/__demo/explode`, 'POST')).status, 404);
  assert.deepEqual(upstream.mode(), { type: 'ok' });
});

test('every curl line the demo prints is a command the upstream accepts', async (t) => {
  const upstream = await started(t);
  for (const { command } of demoCommands(upstream.url)) {
    const [, method, url] = /^curl (?:-X (\w+) )?(\S+)$/.exec(command) ?? [];
    assert.ok(url, command);
    assert.equal((await send(url, method ?? 'GET')).status, 200, command);
  }
});
