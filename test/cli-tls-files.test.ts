/** lib/cli/tls.ts in process: which files --tls-cert/--tls-key and the config file's `tls` name, and the one-line errors. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { testCertificatePaths } from '../fixtures/certificate.js';
import { parseCliArgs } from '../lib/cli/args.js';
import { CliError } from '../lib/cli/cli-error.js';
import { resolveCliConfig } from '../lib/cli/config.js';
import { readCertificate, resolveTls } from '../lib/cli/tls.js';

const FIRST = testCertificatePaths();
const SECOND = testCertificatePaths('second');
const NO_FLAGS = parseCliArgs(['--target', 'http://127.0.0.1:1']);

test('no tls flag and no tls section: plain HTTP', () => {
  assert.equal(resolveTls(NO_FLAGS, undefined, undefined), undefined);
});

test("the config file's paths are relative to the file", () => {
  const dir = FIRST.cert.slice(0, FIRST.cert.lastIndexOf('/'));
  const files = resolveTls(NO_FLAGS, { cert: 'cert.pem', key: 'key.pem' }, `${dir}/proxy.json`);
  assert.equal(files?.cert, FIRST.cert);
  assert.equal(files?.key, FIRST.key);
});

test('flags win over the file', () => {
  const args = parseCliArgs(['--target', 'http://127.0.0.1:1', '--tls-cert', SECOND.cert, '--tls-key', SECOND.key]);
  const files = resolveTls(args, { cert: 'cert.pem', key: 'key.pem' }, '/nowhere/proxy.json');
  assert.equal(files?.cert, SECOND.cert);
});

test('tls.key without tls.cert names the file keys', () => {
  assert.throws(() => resolveTls(NO_FLAGS, { key: 'key.pem' }, '/x/proxy.json'), (error: unknown) => error instanceof CliError && /^tls\.key: needs tls\.cert/.test(error.message));
});

test('tls.cert without tls.key names the file keys', () => {
  assert.throws(() => resolveTls(NO_FLAGS, { cert: 'cert.pem' }, '/x/proxy.json'), (error: unknown) => error instanceof CliError && /^tls\.cert: needs tls\.key/.test(error.message));
});

test('a key that does not belong to the certificate is blamed on the key', () => {
  assert.throws(() => readCertificate(FIRST.cert, SECOND.key), (error: unknown) => error instanceof CliError && /^--tls-key ".*": not a usable certificate and key: the key does not belong to the certificate/.test(error.message));
});

test('a certificate file holding no certificate is blamed on it', () => {
  assert.throws(() => readCertificate(FIRST.key, FIRST.key), (error: unknown) => error instanceof CliError && /not a usable certificate and key/.test(error.message));
});

test('a directory is not a certificate file', () => {
  const dir = FIRST.cert.slice(0, FIRST.cert.lastIndexOf('/'));
  assert.throws(() => readCertificate(dir, FIRST.key), (error: unknown) => error instanceof CliError && /^--tls-cert: cannot read ".*": is a directory \(EISDIR\)$/.test(error.message));
});

test('--tls-cert with more than one worker reads the certificate once, in the primary, for the workers', () => {
  const args = parseCliArgs(['--target', 'http://127.0.0.1:1', '--tls-cert', FIRST.cert, '--tls-key', FIRST.key, '--workers', '2']);
  const config = resolveCliConfig(args);
  assert.equal(config.workers, 2);
  assert.equal(config.tls?.cert, FIRST.cert);
  assert.ok(config.tls?.certificate.cert.toString().startsWith('-----BEGIN CERTIFICATE-----'));
});
