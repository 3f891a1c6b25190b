/** The trust options are checked once, with a path, and the client key never shows anywhere. */
import * as assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { ConfigError, createProxy, type ProxyOptions } from '../lib/index.js';
import { resolveProxyOptions } from '../lib/proxy/options.js';
import { PEM } from './trust-helpers.js';

const target = 'https://127.0.0.1:9';

function configError(options: ProxyOptions): ConfigError {
  try {
    resolveProxyOptions(options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail('expected a ConfigError');
}

/** The base64 body of the client key: what must never appear in output. */
const KEY_BODY = PEM.clientKey.split('\n')[1]!;

test('a ca that is not PEM is a ConfigError at ca', () => {
  const error = configError({ target, ca: 'not a certificate' });
  assert.equal(error.path, 'ca');
  assert.match(error.reason, /expected PEM certificates .*found none \(pass the contents, e\.g\. readFileSync\(file\), not a file name\)/);
});

test('a corrupt certificate in a ca list is a ConfigError naming the item', () => {
  const corrupt = '-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n';
  const error = configError({ routes: [{ match: '/', targets: target, ca: [PEM.ca, corrupt] }] });
  assert.equal(error.path, 'routes[0].ca[1]');
  assert.match(error.reason, /^certificate 1 of 1 is not valid PEM/);
});

test('a client key that is not a key is a ConfigError that does not show the value', () => {
  const notAKey = `${PEM.clientKey.slice(0, 40)}garbage`;
  const error = configError({ routes: [{ match: '/', targets: target, clientCert: PEM.clientCert, clientKey: notAKey }] });
  assert.equal(error.path, 'routes[0].clientKey');
  assert.ok(!error.message.includes('garbage') && !error.message.includes('MIG'), error.message);
});

test('a client key of another certificate is a ConfigError at clientKey', () => {
  const error = configError({ target, clientCert: PEM.clientCert, clientKey: PEM.serverKey });
  assert.equal(error.path, 'clientKey');
  assert.match(error.reason, /does not belong to the client certificate/);
});

test('a client certificate without its key is a ConfigError at clientCert', () => {
  assert.equal(configError({ target, clientCert: PEM.clientCert }).path, 'clientCert');
});

test('a client key without its certificate is a ConfigError at clientKey', () => {
  assert.equal(configError({ target, clientKey: PEM.clientKey }).path, 'clientKey');
});

test('two routes naming one https origin with other trust settings are a ConfigError: one pool per origin', () => {
  const error = configError({
    routes: [
      { match: '/a', targets: target, ca: PEM.ca },
      { match: '/b', targets: target },
    ],
  });
  assert.equal(error.path, 'routes[1].targets[0]');
  assert.match(error.reason, /other TLS settings .*one connection pool/);
});

test('two routes may share an https origin with the same trust settings', () => {
  const config = resolveProxyOptions({
    routes: [
      { match: '/a', targets: target, ca: PEM.ca, clientCert: PEM.clientCert, clientKey: PEM.clientKey },
      { match: '/b', targets: target, ca: Buffer.from(PEM.ca), clientCert: PEM.clientCert, clientKey: Buffer.from(PEM.clientKey) },
    ],
  });
  assert.equal(config.routes.length, 2);
});

test('the client key does not show in the resolved options, their JSON, or the proxy snapshot', () => {
  const options = { target, ca: PEM.ca, clientCert: PEM.clientCert, clientKey: PEM.clientKey };
  const resolved = resolveProxyOptions(options);
  assert.ok(!inspect(resolved, { depth: Infinity }).includes(KEY_BODY));
  assert.ok(!JSON.stringify(resolved).includes(KEY_BODY));
  const proxy = createProxy(options);
  try {
    assert.ok(!JSON.stringify(proxy.snapshot()).includes(KEY_BODY));
  } finally {
    void proxy.close();
  }
});
