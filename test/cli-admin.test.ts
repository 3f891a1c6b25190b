/** The CLI's admin server flags and the access log. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { get, runCli, startCli, upstream } from './cli-helpers.js';
import { request } from './support/http.js';

test('--admin-port serves /healthz, /metrics and /breakers on its own port', async (t) => {
  const up = await upstream(t);
  const cli = startCli(t, ['--target', up.url, '--port', '0', '--admin-port', '0']);
  const url = await cli.url();
  const admin = (await cli.waitFor('stdout', /admin API, metrics and dashboard on (http:\/\/[^\s/]+)\//))[1]!;
  assert.notEqual(admin, url);
  assert.equal((await get(`${url}/x`)).status, 200);
  assert.equal((await get(`${admin}/healthz`)).status, 200);
  const metrics = await get(`${admin}/metrics`);
  assert.match(metrics.text, new RegExp(`proxy_breaker_state\\{target="${up.url}",state="CLOSED"\\} 1`));
  assert.match(metrics.text, new RegExp(`proxy_breaker_requests_total\\{target="${up.url}",outcome="success"\\} 1`));
  const breakers = JSON.parse((await get(`${admin}/breakers`)).text) as { targets: Array<{ target: string; state: string }> };
  assert.deepEqual(breakers.targets.map(({ target, state }) => [target, state]), [[up.url, 'CLOSED']]);
  // The admin routes are not on the proxy port: there they are proxied like any path.
  assert.equal(JSON.parse((await get(`${url}/metrics`)).text).url, '/metrics');
  cli.signal('SIGTERM');
  assert.equal((await cli.exit()).code, 0);
});

test('--admin-host on a non-loopback address without a token exits 2 with one line', async (t) => {
  const up = await upstream(t);
  const { code, lines } = await runCli(t, ['--target', up.url, '--admin-port', '0', '--admin-host', '0.0.0.0']);
  assert.equal(code, 2);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /--admin-host: refusing to bind the admin server to the non-loopback address "0\.0\.0\.0" without a token/);
});

test('--admin-token guards every admin route but /healthz and /readyz, and shows in no output', async (t) => {
  const token = 'cli-admin-Token_0123456789';
  const up = await upstream(t);
  // The same code path as --admin-host 0.0.0.0 with a token, on loopback: tests send nothing elsewhere.
  const cli = startCli(t, ['--target', up.url, '--port', '0', '--admin-port', '0', '--admin-host', '127.0.0.1', '--admin-token', token]);
  await cli.url();
  const admin = (await cli.waitFor('stdout', /admin API, metrics and dashboard on (http:\/\/[^\s/]+)\//))[1]!;
  for (const path of ['/breakers', '/metrics', '/events']) {
    const reply = await get(`${admin}${path}`);
    assert.equal(reply.status, 401, path);
    assert.equal(reply.headers['www-authenticate'], 'Bearer realm="proxy-breaker"', path);
  }
  assert.equal((await get(`${admin}/`)).headers.location, 'login');
  assert.equal((await get(`${admin}/healthz`)).status, 200);
  assert.equal((await get(`${admin}/readyz`)).status, 200);
  const authorization = `Bearer ${token}`;
  assert.match((await request(`${admin}/metrics`, { headers: { authorization } })).text, /proxy_breaker_state\{/);
  assert.equal((await request(`${admin}/breakers`, { headers: { authorization } })).status, 200);
  cli.signal('SIGTERM');
  assert.equal((await cli.exit()).code, 0);
  assert.doesNotMatch(cli.stdout + cli.stderr, new RegExp(token));
});

test('--admin-token without --admin-port exits 2, and never echoes the token', async (t) => {
  const up = await upstream(t);
  const { code, lines } = await runCli(t, ['--target', up.url, '--admin-token', 's3cret-token']);
  assert.equal(code, 2);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /--admin-token: needs --admin-port N/);
  assert.doesNotMatch(lines[0]!, /s3cret-token/);
});

test('a malformed --admin-token exits 2 without echoing it', async (t) => {
  const up = await upstream(t);
  const { code, lines } = await runCli(t, ['--target', up.url, '--admin-port', '0', '--admin-token', 'bad token!']);
  assert.equal(code, 2);
  assert.match(lines[0]!, /--admin-token: expected letters, digits/);
  assert.doesNotMatch(lines[0]!, /bad token/);
});

test('--access-log writes one JSON line per request on stdout, without the query string', async (t) => {
  const up = await upstream(t);
  const cli = startCli(t, ['--target', up.url, '--port', '0', '--access-log']);
  const url = await cli.url();
  assert.equal((await get(`${url}/orders/7?token=secret`)).status, 200);
  const line = (await cli.waitFor('stdout', /^\{.*"path":"\/orders\/7".*\}$/m))[0];
  const entry = JSON.parse(line) as Record<string, unknown>;
  assert.equal(entry.method, 'GET');
  assert.equal(entry.status, 200);
  assert.equal(entry.target, up.url);
  assert.equal(entry.route, '/');
  assert.equal(entry.outcome, 'success');
  assert.equal(entry.state, 'CLOSED');
  assert.equal(entry.retries, 0);
  assert.equal(typeof entry.durationMs, 'number');
  assert.ok(!Number.isNaN(Date.parse(entry.time as string)));
  assert.doesNotMatch(cli.stdout, /secret/);
  cli.signal('SIGTERM');
  assert.equal((await cli.exit()).code, 0);
});

test('--access-log records proxy-made answers too: a 503 while the circuit is open', async (t) => {
  const up = await upstream(t, { mode: { type: 'status', status: 500 } });
  const cli = startCli(t, ['--target', up.url, '--port', '0', '--access-log', '--failure-threshold', '1']);
  const url = await cli.url();
  assert.equal((await get(`${url}/a`)).status, 500);
  assert.equal((await get(`${url}/b`)).status, 503);
  const first = JSON.parse((await cli.waitFor('stdout', /^\{.*"path":"\/a".*\}$/m))[0]) as Record<string, unknown>;
  const second = JSON.parse((await cli.waitFor('stdout', /^\{.*"path":"\/b".*\}$/m))[0]) as Record<string, unknown>;
  assert.deepEqual([first.status, first.outcome, first.state], [500, 'failure_status', 'OPEN']);
  assert.deepEqual([second.status, second.outcome, second.state], [503, 'rejected', 'OPEN']);
  cli.signal('SIGTERM');
  await cli.exit();
});
