/** `--config FILE` and `--check`, run as the CLI. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFile, get, runCli, startCli, upstream } from './cli-helpers.js';

test('a valid config file starts the proxy with its routes; --port overrides listen.port', async (t) => {
  const api = await upstream(t);
  const file = configFile(t, { listen: { port: 1, host: '127.0.0.1' }, routes: [{ match: '/api', targets: [api.url], stripPrefix: true }] });
  const cli = startCli(t, ['--config', file, '--port', '0']);
  const url = await cli.url();
  assert.match(cli.stdout, new RegExp(`-> /api => ${api.url}`));
  assert.equal((JSON.parse((await get(`${url}/api/x`)).text) as { url: string }).url, '/x');
  assert.equal((await get(`${url}/other`)).status, 404);
  cli.signal('SIGTERM');
  assert.equal((await cli.exit()).code, 0);
});

async function configError(t: import('node:test').TestContext, content: unknown, args: string[] = []): Promise<{ file: string; line: string }> {
  const file = configFile(t, content);
  const { code, lines, stdout } = await runCli(t, ['--config', file, ...args]);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.equal(lines.length, 1, lines.join('\n'));
  return { file, line: lines[0]! };
}

test('an unknown key in the file exits 2 naming its path', async (t) => {
  const { file, line } = await configError(t, { routes: [{ match: '/', targets: 'http://127.0.0.1:9' }], admin: { prot: 9090 } });
  assert.equal(line, `proxy-breaker: ${file}: admin.prot: unknown option (known: port, host, token) (see --help)`);
});

test('a bad target URL in the file exits 2 naming its path', async (t) => {
  const routes = [
    { match: '/a', targets: 'http://127.0.0.1:9' },
    { match: '/b', targets: 'http://127.0.0.1:10' },
    { match: '/c', targets: ['ftp://x'] },
  ];
  const { file, line } = await configError(t, { routes });
  assert.equal(line, `proxy-breaker: ${file}: routes[2].targets[0]: "ftp://x" is not an http(s) URL (see --help)`);
});

test('bad JSON exits 2 naming the file, line and column', async (t) => {
  const { file, line } = await configError(t, '{\n  "routes": [\n    {"match": "/", "targets": "http://127.0.0.1:9"},\n  ]\n}\n');
  assert.equal(line, `proxy-breaker: ${file}:4:3: invalid JSON: unexpected "]" (see --help)`);
});

test('a missing file exits 2 naming it', async (t) => {
  const { code, lines } = await runCli(t, ['--config', '/nonexistent/proxy.json']);
  assert.equal(code, 2);
  assert.deepEqual(lines, ['proxy-breaker: --config: cannot read "/nonexistent/proxy.json": no such file (ENOENT) (see --help)']);
});

test('--check prints the resolved routing table and exits 0', async (t) => {
  const file = configFile(t, {
    routes: [
      { match: '/api/users', targets: ['http://127.0.0.1:3001', 'http://127.0.0.1:3002'], stripPrefix: true, timeout: 2000 },
      { match: 'billing.example.com', targets: 'http://127.0.0.1:4000', failureStatus: '502-504' },
    ],
    log: { format: 'json' },
  });
  const { code, stdout, stderr } = await runCli(t, ['--config', file, '--check', '--failure-threshold', '3']);
  assert.equal(code, 0);
  assert.equal(stderr, '');
  const rows = stdout.split('\n');
  assert.equal(rows[0], `${file}: OK`);
  assert.match(stdout, /^listen  http:\/\/127\.0\.0\.1:8080$/m);
  assert.match(stdout, /^MATCH +TARGETS +STRIP +TIMEOUT +FAILURE STATUS +RETRIES +BREAKER$/m);
  assert.match(stdout, /^\/api\/users +http:\/\/127\.0\.0\.1:3001, http:\/\/127\.0\.0\.1:3002 +yes +2000 ms +500-599 +1 +open after 3 failures/m);
  assert.match(stdout, /^billing\.example\.com +http:\/\/127\.0\.0\.1:4000 +no +10000 ms +502-504 +0 +open after 3 failures/m);
});

test('--check with an invalid file prints the error and exits 2', async (t) => {
  const { line } = await configError(t, { routes: [{ match: '/', targets: 'http://127.0.0.1:9', timeout: -1 }] }, ['--check']);
  assert.match(line, /routes\[0\]\.timeout: expected a number > 0, got -1/);
});
