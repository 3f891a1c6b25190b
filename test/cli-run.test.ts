/**
 * serve() and the demo in-process (the child-process tests cover the same paths as a command, but
 * their coverage is of dist/): output, the listen error, and the demo's scenario with a short
 * open period. Signal listeners they add are removed after each test.
 */
import * as assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { parseCliArgs } from '../lib/cli/args.js';
import { CliError } from '../lib/cli/cli-error.js';
import { resolveCliConfig } from '../lib/cli/config.js';
import { runDemo } from '../lib/cli/demo.js';
import { Log } from '../lib/cli/log.js';
import { serve, startProxy } from '../lib/cli/serve.js';
import { configFile, get, memoryOutput, restoreSignals, upstream } from './cli-helpers.js';

test('serve() listens, prints the listening line, and logs state changes', async (t) => {
  restoreSignals(t);
  const up = await upstream(t, { mode: 'refuse' });
  const file = configFile(t, { targets: [up.url], breaker: { failureThreshold: 1 }, insecure: true });
  const args = parseCliArgs(['--config', file, '-p', '0']);
  const [stdout, stderr] = [memoryOutput(), memoryOutput()];
  const running = await serve(args, resolveCliConfig(args), { stdout, stderr }, new Log('text', stderr));
  t.after(() => running.close());
  assert.equal(stdout.text, `proxy-breaker listening on ${running.url} -> / => ${up.url}\n`);
  assert.equal((await get(running.url)).status, 502);
  assert.match(stderr.text, /warning: insecure: /);
  assert.match(stderr.text, new RegExp(`circuit ${up.url} CLOSED -> OPEN \\(1 failure; last: ECONNREFUSED\\)`));
});

test('startProxy() turns a busy port into a CliError with exit code 1', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const config = resolveCliConfig(parseCliArgs(['-t', 'http://127.0.0.1:9', '-p', String(port)]));
  await assert.rejects(startProxy(config, new Log('text', memoryOutput())), (error: unknown) => {
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, 1);
    assert.equal(error.hint, false);
    assert.match(error.message, new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\)`));
    return true;
  });
});

test('startProxy() names other listen errors too', async () => {
  const config = resolveCliConfig(parseCliArgs(['-t', 'http://127.0.0.1:9', '-p', '0', '-H', '192.0.2.1']));
  await assert.rejects(startProxy(config, new Log('text', memoryOutput())), /cannot listen on 192\.0\.2\.1:0: address not available \(EADDRNOTAVAIL\)/);
});

test('the demo scenario goes CLOSED -> OPEN -> HALF_OPEN -> CLOSED (with a short open period)', { timeout: 10_000 }, async (t) => {
  restoreSignals(t);
  const stdout = memoryOutput();
  const args = parseCliArgs(['--demo', '-p', '0', '--reset-timeout', '200']);
  const running = await runDemo(args, { stdout, stderr: memoryOutput() }, new Log('text', memoryOutput()));
  t.after(() => running.close());
  const steps = stdout.text.match(/^\d\. /gm);
  assert.deepEqual(steps, ['1. ', '2. ', '3. ', '4. ', '5. ']);
  for (const change of ['CLOSED -> OPEN', 'OPEN -> HALF_OPEN', 'HALF_OPEN -> CLOSED']) assert.match(stdout.text, new RegExp(change));
  assert.match(stdout.text, /the circuit is CLOSED again/);
  assert.match(stdout.text, /curl -X POST http:\/\/127\.0\.0\.1:\d+\/__demo\/fail\?status=500/);
  assert.equal((await get(`${running.url}/hello`)).status, 200);
});
