/** --tls-cert / --tls-key and the config file's `tls`: HTTPS and h2 on the proxy port, SIGHUP swaps the certificate. */
import * as assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { loadTestCertificate, testCertificatePaths } from '../fixtures/certificate.js';
import { certificateFiles, configFile, runCli, startCli, upstream, type Cli } from './cli-helpers.js';
import { h2Request, h2Session } from './support/h2.js';

const FIRST = testCertificatePaths();
const SECOND = testCertificatePaths('second');

async function httpsUrl(cli: Cli): Promise<string> {
  return (await cli.waitFor('stdout', /listening on (https:\/\/[^\s]+)/))[1]!.replace('127.0.0.1', 'localhost');
}

test('--tls-cert and --tls-key serve h2 on the proxy port, and the access log says so', async (t) => {
  const up = await upstream(t);
  const cli = startCli(t, ['--target', up.url, '--port', '0', '--tls-cert', FIRST.cert, '--tls-key', FIRST.key, '--access-log']);
  const url = await httpsUrl(cli);
  const session = await h2Session(t, url);
  const reply = await h2Request(session, { ':path': '/cli' });
  assert.equal(reply.status, 200);
  const line = await cli.waitFor('stdout', /^\{.*"path":"\/cli".*\}$/m);
  assert.equal(JSON.parse(line[0]).protocol, 'h2');
});

test("the config file's tls section, with paths relative to the file", async (t) => {
  const up = await upstream(t);
  const file = configFile(t, { target: up.url, listen: { port: 0 }, tls: { cert: 'c.pem', key: 'k.pem' } });
  copyFileSync(FIRST.cert, join(dirname(file), 'c.pem'));
  copyFileSync(FIRST.key, join(dirname(file), 'k.pem'));
  const cli = startCli(t, ['--config', file]);
  const session = await h2Session(t, await httpsUrl(cli));
  assert.equal((await h2Request(session, { ':path': '/' })).status, 200);
});

test('a certificate file that is not one is exit 2 with one line', async (t) => {
  const up = await upstream(t);
  const { code, lines } = await runCli(t, ['--target', up.url, '--tls-cert', FIRST.key, '--tls-key', FIRST.key]);
  assert.equal(code, 2);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /not a usable certificate and key/);
});

test('a key that does not belong to the certificate is exit 2 with one line', async (t) => {
  const up = await upstream(t);
  const { code, lines } = await runCli(t, ['--target', up.url, '--tls-cert', FIRST.cert, '--tls-key', SECOND.key]);
  assert.equal(code, 2);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /--tls-key .*the key does not belong to the certificate/);
});

test('a missing key file is exit 2 naming it', async (t) => {
  const up = await upstream(t);
  const { code, lines } = await runCli(t, ['--target', up.url, '--tls-cert', FIRST.cert, '--tls-key', '/nonexistent/key.pem']);
  assert.equal(code, 2);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /--tls-key: cannot read "\/nonexistent\/key.pem": no such file/);
});

test('--tls-cert without --tls-key is exit 2', async (t) => {
  const up = await upstream(t);
  const { code, lines } = await runCli(t, ['--target', up.url, '--tls-cert', FIRST.cert]);
  assert.equal(code, 2);
  assert.match(lines[0]!, /--tls-cert: needs --tls-key FILE/);
});

test('SIGHUP serves the new certificate to new connections; an open one keeps working', async (t) => {
  const up = await upstream(t);
  const files = certificateFiles(t);
  const cli = startCli(t, ['--target', up.url, '--port', '0', '--tls-cert', files.cert, '--tls-key', files.key]);
  const url = await httpsUrl(cli);
  const old = await h2Session(t, url);
  files.renew();
  cli.signal('SIGHUP');
  await cli.waitFor('stderr', /reloaded the certificate/);
  const second = loadTestCertificate('second');
  const fresh = await h2Session(t, url, second.cert);
  assert.equal((fresh.socket as TLSSocket).getPeerCertificate().fingerprint256, new X509Certificate(second.cert).fingerprint256);
  assert.equal((await h2Request(old, { ':path': '/' })).status, 200);
  assert.equal((await h2Request(fresh, { ':path': '/' })).status, 200);
});

test('SIGHUP with a broken certificate file keeps the old certificate', async (t) => {
  const up = await upstream(t);
  const dir = dirname(configFile(t, {}));
  const cert = join(dir, 'cert.pem');
  copyFileSync(FIRST.cert, cert);
  const cli = startCli(t, ['--target', up.url, '--port', '0', '--tls-cert', cert, '--tls-key', FIRST.key]);
  const url = await httpsUrl(cli);
  copyFileSync(FIRST.key, cert);
  cli.signal('SIGHUP');
  await cli.waitFor('stderr', /certificate reload failed, keeping the old one/);
  const session = await h2Session(t, url);
  assert.equal((await h2Request(session, { ':path': '/' })).status, 200);
});
