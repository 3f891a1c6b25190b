/** The CLI serving: start on port 0, proxy, drain on SIGTERM, exit codes. */
import * as assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { get, runCli, startCli, until, upstream } from './cli-helpers.js';

test('starts on port 0, proxies a request, and exits 0 on SIGTERM', async (t) => {
  const up = await upstream(t);
  const cli = startCli(t, ['--target', up.url, '--port', '0']);
  const url = await cli.url();
  assert.match(cli.stdout, new RegExp(`listening on http://127\\.0\\.0\\.1:\\d+ -> / => ${up.url}`));
  assert.notEqual(url, 'http://127.0.0.1:0');
  const reply = await get(`${url}/hello?x=1`);
  assert.equal(reply.status, 200);
  assert.equal((JSON.parse(reply.text) as { url: string }).url, '/hello?x=1');
  cli.signal('SIGTERM');
  assert.deepEqual(await cli.exit(), { code: 0, signal: null });
});

test('a request in flight to a slow upstream completes with 200 after SIGTERM', async (t) => {
  const up = await upstream(t, { mode: { type: 'slow', delay: 400 } });
  const cli = startCli(t, ['-t', up.url, '-p', '0']);
  const url = await cli.url();
  const reply = get(`${url}/slow`);
  await until(() => up.stats().inFlight === 1);
  cli.signal('SIGTERM');
  await cli.waitFor('stderr', /SIGTERM: stopped accepting; waiting for 1 request in flight/);
  assert.equal((await reply).status, 200);
  assert.deepEqual(await cli.exit(), { code: 0, signal: null });
});

test('a second SIGTERM exits 1 at once, without waiting for requests in flight', async (t) => {
  const up = await upstream(t, { mode: 'hang' });
  const cli = startCli(t, ['-t', up.url, '-p', '0', '--timeout', '60000']);
  const url = await cli.url();
  get(`${url}/hang`, 10_000).catch(() => undefined);
  await until(() => up.stats().inFlight === 1);
  cli.signal('SIGTERM');
  await cli.waitFor('stderr', /stopped accepting/);
  cli.signal('SIGTERM');
  assert.deepEqual(await cli.exit(2_000), { code: 1, signal: null });
});

test('a port in use exits 1 with one line naming the address and port', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const { code, lines, stdout } = await runCli(t, ['-t', 'http://127.0.0.1:9', '-p', String(port)]);
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, new RegExp(`^proxy-breaker: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
});

test('--insecure prints a warning line on stderr at start', async (t) => {
  const cli = startCli(t, ['-t', 'https://127.0.0.1:9', '-p', '0', '--insecure']);
  await cli.url();
  assert.match(cli.stderr, /warning: insecure: certificates of https targets are NOT verified/);
  cli.signal('SIGINT');
  assert.equal((await cli.exit()).code, 0);
});

test('--route with --strip-prefix routes by path prefix and strips it', async (t) => {
  const api = await upstream(t);
  const web = await upstream(t);
  const cli = startCli(t, ['--route', `/api=${api.url}`, '--route', `/=${web.url}`, '--strip-prefix', '-p', '0']);
  const url = await cli.url();
  assert.match(cli.stdout, new RegExp(`/api => ${api.url}; / => ${web.url}`));
  assert.equal((JSON.parse((await get(`${url}/api/users/7`)).text) as { url: string }).url, '/users/7');
  assert.equal(api.stats().requests, 1);
  assert.equal(web.stats().requests, 0);
});

test('a state change prints one text line with time, target, states, failures and reason', async (t) => {
  const up = await upstream(t, { mode: 'refuse' });
  const cli = startCli(t, ['-t', up.url, '-p', '0', '--failure-threshold', '1']);
  const url = await cli.url();
  assert.equal((await get(url)).status, 502);
  const [line] = await cli.waitFor('stderr', /^.*CLOSED -> OPEN.*$/m);
  assert.match(line, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z circuit ${up.url} CLOSED -> OPEN \\(1 failure; last: ECONNREFUSED\\)$`));
  assert.match(cli.stderr, new RegExp(`upstream error ${up.url} \\(route /\\): connection_refused ERR_UPSTREAM_CONNECTION: ECONNREFUSED`));
});
