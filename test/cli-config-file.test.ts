/** The config file parsed in-process, and merged with the flags. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCliArgs } from '../lib/cli/args.js';
import { resolveCliConfig } from '../lib/cli/config.js';
import { parseConfigText } from '../lib/cli/config-file.js';
import { configFile } from './cli-helpers.js';

const ROUTES = [{ match: '/', targets: 'http://127.0.0.1:3000' }];

function fileError(content: unknown): string {
  try {
    parseConfigText(JSON.stringify(content), 'p.json');
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('expected an error');
}

test('listen, admin and log are taken out; the rest are proxy options', () => {
  const config = parseConfigText(
    JSON.stringify({ routes: ROUTES, timeout: 500, listen: { port: 0, host: '::1' }, admin: { port: 9090, token: 't' }, log: { format: 'json', accessLog: true } }),
    'p.json',
  );
  assert.deepEqual(config, {
    proxy: { routes: ROUTES, timeout: 500 },
    listen: { port: 0, host: '::1' },
    admin: { port: 9090, host: '127.0.0.1', token: 't' },
    log: { format: 'json', accessLog: true },
    tls: {},
  });
  assert.deepEqual(parseConfigText('{"routes": []}', 'p.json'), { proxy: { routes: [] }, listen: {}, admin: undefined, log: {}, tls: {} });
});

test('the shapes of listen, admin and log are checked, naming the path', () => {
  assert.equal(fileError({ admin: { prot: 1 } }), 'p.json: admin.prot: unknown option (known: port, host, token)');
  assert.equal(fileError({ admin: {} }), "p.json: admin.port: required: the admin server's port (0 picks a free one)");
  assert.equal(fileError({ admin: { port: 70000 } }), 'p.json: admin.port: expected an integer from 0 to 65535, got 70000');
  assert.equal(fileError({ admin: { port: 1, host: '' } }), 'p.json: admin.host: expected an address like 127.0.0.1, :: or localhost, got ""');
  assert.equal(fileError({ listen: { port: 1.5 } }), 'p.json: listen.port: expected an integer from 0 to 65535, got 1.5');
  assert.equal(fileError({ listen: { hots: 'x' } }), 'p.json: listen.hots: unknown option (known: port, host)');
  assert.equal(fileError({ listen: [] }), 'p.json: listen: expected an object, got an array');
  assert.equal(fileError({ log: { format: 'xml' } }), 'p.json: log.format: expected "text" or "json", got "xml"');
  assert.equal(fileError({ log: { accessLog: 'yes' } }), 'p.json: log.accessLog: expected true or false, got "yes"');
  assert.equal(fileError({ log: null }), 'p.json: log: expected an object, got null');
  assert.equal(fileError('x'), 'p.json: expected a JSON object like {"routes": [...]} at the top, got "x"');
});

test('a wrong admin token is described, never echoed', () => {
  assert.equal(fileError({ admin: { port: 1, token: 12345 } }), 'p.json: admin.token: expected a non-empty string, got a number');
  assert.equal(fileError({ admin: { port: 1, token: '' } }), 'p.json: admin.token: expected a non-empty string, got an empty string');
  assert.equal(fileError({ admin: { port: 1, token: null } }), 'p.json: admin.token: expected a non-empty string, got null');
});

test('flags override the file\'s top-level values and single breaker keys', (t) => {
  const file = configFile(t, {
    listen: { port: 1234, host: '0.0.0.0' },
    routes: [{ match: '/', targets: 'http://127.0.0.1:3000', timeout: 2000 }],
    timeout: 3000,
    retries: 0,
    breaker: { failureThreshold: 9, resetTimeout: 5000 },
    log: { format: 'json' },
  });
  const config = resolveCliConfig(parseCliArgs(['--config', file, '--timeout', '100', '--failure-threshold', '2', '-p', '0', '--log-format', 'text']));
  assert.deepEqual(config.proxy.breaker, { failureThreshold: 2, resetTimeout: 5000 });
  assert.equal(config.proxy.timeout, 100);
  assert.equal(config.resolved.routes[0]!.timeout, 2000, "a route's own timeout stays");
  assert.equal(config.resolved.routes[0]!.breaker.failureThreshold, 2);
  assert.deepEqual(config.listen, { port: 0, host: '0.0.0.0' });
  assert.deepEqual(config.log, { format: 'text', accessLog: false });
  assert.equal(config.configFile, file);
});

test('without a file the defaults apply: 127.0.0.1:8080, text log', () => {
  const config = resolveCliConfig(parseCliArgs(['-t', 'http://127.0.0.1:3000']));
  assert.deepEqual(config.listen, { port: 8080, host: '127.0.0.1' });
  assert.deepEqual(config.log, { format: 'text', accessLog: false });
  assert.equal(config.admin, undefined);
});

test('a validation error names the file and path, or the flag that set the value', (t) => {
  const resolve = (content: unknown, flags: string[] = []): string => {
    const file = configFile(t, content);
    try {
      resolveCliConfig(parseCliArgs(['--config', file, ...flags]));
    } catch (error) {
      return (error as Error).message.replace(file, 'FILE');
    }
    assert.fail('expected an error');
  };
  assert.match(resolve({ routes: ROUTES, prot: 1 }), /^FILE: prot: unknown option \(known: target, .*, listen, admin, log, (tls, workers|workers, tls)\)$/);
  assert.equal(resolve({ routes: ROUTES, breaker: { resetTimeout: 5000 } }, ['--reset-timeout-max', '1000']), '--reset-timeout-max: expected >= resetTimeout (5000), got 1000');
  assert.equal(resolve({ routes: [{ match: '/', targets: ['ftp://x'] }] }), 'FILE: routes[0].targets[0]: "ftp://x" is not an http(s) URL');
  assert.equal(resolve({ routes: ROUTES, breaker: 5 }, ['--failure-threshold', '2']), 'FILE: breaker: expected an object, got 5');
  assert.equal(resolve({}), 'FILE: no target: give `target`, `targets` or `routes`');
});
