/** `--ca`, `--client-cert`, `--client-key` and the config file's `ca`, `clientCert`, `clientKey` are file names, read at start and on reload. */
import * as assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { parseCliArgs } from '../lib/cli/args.js';
import { resolveCliConfig } from '../lib/cli/config.js';
import { Log } from '../lib/cli/log.js';
import { reloadConfig } from '../lib/cli/reload.js';
import { configFile, runCli, writeConfig } from './cli-helpers.js';
import { proxy, request } from './proxy-helpers.js';
import { PEM, PEM_FILE, trustedUpstream } from './trust-helpers.js';

test('--ca naming a missing file exits 2 with one line naming the flag and the file', async (t) => {
  const run = await runCli(t, ['-t', 'https://127.0.0.1:9', '--ca', 'missing.pem']);
  assert.equal(run.code, 2);
  assert.deepEqual(run.lines, ['proxy-breaker: --ca: cannot read "missing.pem": no such file (ENOENT)']);
  assert.equal(run.stdout, '');
});

test('--client-key naming a file that is not a key is refused without showing its contents', () => {
  assert.throws(
    () => resolveCliConfig(parseCliArgs(['-t', 'https://127.0.0.1:9', '--client-cert', PEM_FILE.clientCert, '--client-key', PEM_FILE.clientCert])),
    (error: Error) => error.message === `--client-key: ${JSON.stringify(PEM_FILE.clientCert)}: expected an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----), but it could not be read`,
  );
});

test('the flags pass the files they name to the proxy, which then reaches an mTLS target', async (t) => {
  const up = await trustedUpstream(t, { requireClientCert: true });
  const args = parseCliArgs(['-t', up.url, '--ca', PEM_FILE.ca, '--client-cert', PEM_FILE.clientCert, '--client-key', PEM_FILE.clientKey]);
  const p = await proxy(t, resolveCliConfig(args).proxy);
  assert.equal((await request(p.port, '/')).status, 200);
  assert.deepEqual(up.seen, [{ url: '/', client: 'proxy-breaker test client' }]);
});

test("file names in a route of the config file are read relative to the config file's directory", async (t) => {
  const up = await trustedUpstream(t);
  const file = configFile(t, { routes: [{ match: '/', targets: up.url, ca: 'certs-ca.pem' }] });
  copyFileSync(PEM_FILE.ca, join(dirname(file), 'certs-ca.pem'));
  const p = await proxy(t, resolveCliConfig(parseCliArgs(['--config', file])).proxy);
  assert.equal((await request(p.port, '/')).status, 200);
});

test('a config file naming a missing file is refused with the file, the path in it and the missing name', (t) => {
  const file = configFile(t, { target: 'https://127.0.0.1:9', ca: ['ca.pem', 'gone.pem'] });
  copyFileSync(PEM_FILE.ca, join(dirname(file), 'ca.pem'));
  assert.throws(() => resolveCliConfig(parseCliArgs(['--config', file])), {
    message: `${file}: ca[1]: cannot read "gone.pem": no such file (ENOENT)`,
  });
});

test('a reload reads the files again; a missing one keeps the old config and logs why', async (t) => {
  const up = await trustedUpstream(t);
  const file = configFile(t, { target: up.url, ca: 'ca.pem' });
  const caFile = join(dirname(file), 'ca.pem');
  copyFileSync(PEM_FILE.ca, caFile);
  const args = parseCliArgs(['--config', file]);
  const current = resolveCliConfig(args);
  const p = await proxy(t, current.proxy);
  const lines: string[] = [];
  const log = new Log('json', { write: (line: string) => lines.push(line) });

  writeConfig(file, { target: up.url, ca: 'other.pem' });
  assert.equal(reloadConfig(args, current, p.proxy, log), current);
  assert.match(JSON.parse(lines[0]!).message, /keeping the old routes: .*: ca: cannot read "other\.pem": no such file/);
  assert.equal((await request(p.port, '/')).status, 200);

  writeConfig(file, { target: up.url, ca: 'ca.pem' });
  writeConfig(caFile, PEM.clientCa);
  reloadConfig(args, current, p.proxy, log);
  assert.equal(JSON.parse(lines[1]!).event, 'reload');
  assert.equal((await request(p.port, '/')).headers['proxy-status'], 'proxy-breaker; error=tls_certificate_error');
});
