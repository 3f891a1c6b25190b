import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMatch, resolveProxyOptions, type ProxyOptions } from '../lib/proxy/options.js';
import { createProxy } from '../lib/proxy/proxy.js';
import { assertConfigError } from './routes-helpers.js';

const A = 'http://127.0.0.1:3001';
const B = 'http://127.0.0.1:3002';
const C = 'http://127.0.0.1:3003';

const resolve = (options: unknown) => () => resolveProxyOptions(options as ProxyOptions);

// --- resolved routes ---

test('routes resolve to host, prefix and targets, with the proxy defaults filled in', () => {
  const config = resolveProxyOptions({ routes: [{ match: 'API.Example.com./v2/', targets: [A, B] }] });
  const [route] = config.routes;
  assert.equal(route!.match, 'API.Example.com./v2/');
  assert.equal(route!.host, 'api.example.com');
  assert.equal(route!.prefix, '/v2');
  assert.deepEqual(route!.targets.map((url) => url.origin), [A, B]);
  assert.equal(route!.stripPrefix, false);
  assert.equal(route!.timeout, 10_000);
  assert.equal(route!.failureStatus.text, '500-599');
  assert.equal(route!.breaker.failureThreshold, 5);
  assert.equal(route!.retries, 1, 'two replicas get one failover retry by default');
});

test('a route overrides the proxy timeout, failure statuses and breaker options', () => {
  const config = resolveProxyOptions({
    timeout: 2000,
    failureStatus: '502-504',
    breaker: { failureThreshold: 3, resetTimeout: 1000 },
    routes: [
      { match: '/a', targets: A, timeout: 100, failureStatus: [404, 500], breaker: { failureThreshold: 1 } },
      { match: '/b', targets: B },
    ],
  });
  const [a, b] = config.routes;
  assert.equal(a!.timeout, 100);
  assert.equal(a!.failureStatus.has(404), true);
  assert.equal(a!.failureStatus.has(503), false);
  assert.equal(a!.breaker.failureThreshold, 1);
  assert.equal(a!.breaker.resetTimeout, 1000, 'options the route does not set come from the proxy');
  assert.equal(b!.timeout, 2000);
  assert.equal(b!.failureStatus.has(404), false);
  assert.equal(b!.failureStatus.has(503), true);
  assert.equal(b!.breaker.failureThreshold, 3);
});

test('`target` is the shorthand for one catch-all route /', () => {
  const config = resolveProxyOptions({ target: A });
  assert.equal(config.routes.length, 1);
  assert.equal(config.routes[0]!.match, '/');
  assert.equal(config.routes[0]!.host, undefined);
  assert.equal(config.routes[0]!.prefix, '');
  assert.deepEqual(config.routes[0]!.targets.map((url) => url.origin), [A]);
});

test('`targets` is the shorthand for one catch-all route / over several replicas', () => {
  const config = resolveProxyOptions({ targets: [A, new URL(B)] });
  assert.equal(config.routes[0]!.match, '/');
  assert.deepEqual(config.routes[0]!.targets.map((url) => url.origin), [A, B]);
});

test('a route takes one target as a string or a URL, and a list of them', () => {
  const config = resolveProxyOptions({ routes: [{ match: '/a', targets: new URL(A) }, { match: '/b', targets: [B, new URL(C)] }] });
  assert.deepEqual(config.routes.map((route) => route.targets.length), [1, 2]);
});

test('two routes may share an origin when its breaker options agree', () => {
  const config = resolveProxyOptions({ routes: [{ match: '/a', targets: A, timeout: 50 }, { match: '/b', targets: A, failureStatus: '404' }] });
  assert.equal(config.routes.length, 2);
});

// --- parseMatch ---

test('parseMatch reads a path prefix, a host, and a host with a path prefix', () => {
  assert.deepEqual(parseMatch('/api/users', 'm'), { host: undefined, prefix: '/api/users' });
  assert.deepEqual(parseMatch('users.example.com', 'm'), { host: 'users.example.com', prefix: '' });
  assert.deepEqual(parseMatch('Users.Example.com.:8080/v2/', 'm'), { host: 'users.example.com', prefix: '/v2' });
  assert.deepEqual(parseMatch('/', 'm'), { host: undefined, prefix: '' });
});

test('parseMatch keeps the case of a path prefix: paths are case-sensitive', () => {
  assert.deepEqual(parseMatch('/API', 'm'), { host: undefined, prefix: '/API' });
});

test('parseMatch writes a prefix the way a normalised request path is written', () => {
  assert.deepEqual(parseMatch('/caf%c3%a9', 'm'), { host: undefined, prefix: '/caf%C3%A9' });
  assert.deepEqual(parseMatch('/%7Euser', 'm'), { host: undefined, prefix: '/~user' });
});

// --- errors carry their path ---

test('a target that is not http(s) names routes[i].targets[j]', () => {
  const routes = [{ match: '/a', targets: A }, { match: '/b', targets: B }, { match: '/c', targets: ['ftp://x'] }];
  assertConfigError(resolve({ routes }), 'routes[2].targets[0]', 'routes[2].targets[0]: "ftp://x" is not an http(s) URL');
});

test('a lone target string is reported where it was written, routes[i].targets, not as a list item', () => {
  assertConfigError(resolve({ routes: [{ match: '/a', targets: 'ftp://x' }] }), 'routes[0].targets', 'routes[0].targets: "ftp://x" is not an http(s) URL');
});

test('the second bad replica of a route is reported by its index', () => {
  assertConfigError(resolve({ routes: [{ match: '/a', targets: [A, 'not a url'] }] }), 'routes[0].targets[1]', /^routes\[0\]\.targets\[1\]: "not a url" is not a URL/);
});

test('a target URL with credentials is refused without echoing them', () => {
  const error = assertConfigError(
    resolve({ routes: [{ match: '/a', targets: ['http://user:s3cret@127.0.0.1:3001'] }] }),
    'routes[0].targets[0]',
    'routes[0].targets[0]: target URLs must not carry credentials',
  );
  assert.doesNotMatch(error.message, /s3cret/);
});

test('a target URL with a path, a query or a fragment is refused', () => {
  for (const url of [`${A}/api`, `${A}/?x=1`, `${A}/#x`]) {
    assertConfigError(resolve({ routes: [{ match: '/a', targets: [url] }] }), 'routes[0].targets[0]', /must be an origin like http:\/\/127\.0\.0\.1:3001/);
  }
});

test('a target that is not a string or URL is refused', () => {
  assertConfigError(resolve({ routes: [{ match: '/a', targets: [42] }] }), 'routes[0].targets[0]', 'routes[0].targets[0]: expected a URL string, got 42');
});

test('a route without targets is refused', () => {
  assertConfigError(resolve({ routes: [{ match: '/a', targets: [] }] }), 'routes[0].targets', /^routes\[0\]\.targets: expected one or more target URLs/);
  assertConfigError(resolve({ routes: [{ match: '/a' }] }), 'routes[0].targets', /^routes\[0\]\.targets: expected one or more target URLs, got undefined/);
});

test('the same origin twice in one route is refused', () => {
  assertConfigError(resolve({ routes: [{ match: '/a', targets: [A, `${A}/`] }] }), 'routes[0].targets[1]', `routes[0].targets[1]: ${A} is listed twice`);
});

test('an unknown route option is an error, not ignored: routes[0].stripprefix', () => {
  assertConfigError(resolve({ routes: [{ match: '/a', targets: A, stripprefix: true }] }), 'routes[0].stripprefix', /^routes\[0\]\.stripprefix: unknown option/);
});

test('an unknown breaker option of a route names its path', () => {
  assertConfigError(
    resolve({ routes: [{ match: '/a', targets: A }, { match: '/b', targets: B, breaker: { threshold: 2 } }] }),
    'routes[1].breaker.threshold',
    /^routes\[1\]\.breaker\.threshold: unknown option/,
  );
});

test('an unknown top-level option is an error', () => {
  assertConfigError(resolve({ rotues: [] , target: A }), 'rotues', /^rotues: unknown option/);
});

test('a bad match names routes[i].match', () => {
  const bad: unknown[] = ['', 42, undefined, 'api example.com', '*', 'ex_ample.com', ':8080/api', '/api?x=1', '/api#x', '/a\\b', '/a b', '/api/../admin', '/api/./x', '/api//x', '/a/%2e%2E', '/a%zz', '/café', '/a"b'];
  for (const match of bad) {
    assertConfigError(resolve({ routes: [{ match: '/ok', targets: A }, { match, targets: B }] }), 'routes[1].match', /^routes\[1\]\.match: /);
  }
});

test('two routes with the same match are refused, naming the later one', () => {
  assertConfigError(
    resolve({ routes: [{ match: '/api', targets: A }, { match: '/api/', targets: B }] }),
    'routes[1]',
    'routes[1]: matches the same requests as routes[0] (/api)',
  );
});

test('two host routes that differ only in case, port or trailing dot are duplicates', () => {
  assertConfigError(
    resolve({ routes: [{ match: '/x', targets: C }, { match: 'API.example.com/v1', targets: A }, { match: 'api.example.com.:8080/v1/', targets: B }] }),
    'routes[2]',
    /^routes\[2\]: matches the same requests as routes\[1\]/,
  );
});

test('two prefixes that differ only in how they escape characters are duplicates', () => {
  assertConfigError(resolve({ routes: [{ match: '/api', targets: A }, { match: '/%61pi', targets: B }] }), 'routes[1]', /^routes\[1\]: matches the same requests as routes\[0\] \(\/api\)$/);
  assertConfigError(resolve({ routes: [{ match: '/caf%c3%a9', targets: A }, { match: '/caf%C3%A9/', targets: B }] }), 'routes[1]', /^routes\[1\]: matches the same requests as routes\[0\]/);
});

test('a host route and a path route are not duplicates', () => {
  const config = resolveProxyOptions({ routes: [{ match: 'api.example.com', targets: A }, { match: '/', targets: B }] });
  assert.equal(config.routes.length, 2);
});

test('one origin in two routes with conflicting breaker options is refused: one origin has one breaker', () => {
  assertConfigError(
    resolve({ routes: [{ match: '/a', targets: [A, B] }, { match: '/b', targets: [C, B], breaker: { failureThreshold: 1 } }] }),
    'routes[1].targets[1]',
    `routes[1].targets[1]: ${B} is also a target of routes[0] with other breaker options; one origin has one breaker`,
  );
});

test('a bad failureStatus of a route names routes[i].failureStatus', () => {
  const bad: unknown[] = ['600', '5xx', '504-500', '', [99], 404, [200, 1000]];
  for (const failureStatus of bad) {
    assertConfigError(resolve({ routes: [{ match: '/a', targets: A, failureStatus }] }), 'routes[0].failureStatus', /^routes\[0\]\.failureStatus: /);
  }
});

test('a bad route timeout names routes[i].timeout', () => {
  for (const timeout of [0, -1, '100', Infinity, Number.NaN]) {
    assertConfigError(resolve({ routes: [{ match: '/a', targets: A, timeout }] }), 'routes[0].timeout', /^routes\[0\]\.timeout: expected a number > 0/);
  }
});

test('idleTimeout defaults to 60 s, and a route sets its own over the proxy-wide one', () => {
  const config = resolveProxyOptions({ idleTimeout: 5_000, routes: [{ match: '/a', targets: A, idleTimeout: 200 }, { match: '/b', targets: B }] });
  assert.deepEqual(config.routes.map((route) => route.idleTimeout), [200, 5_000]);
  assert.equal(resolveProxyOptions({ target: A }).routes[0]!.idleTimeout, 60_000);
});

test('a bad idleTimeout names where it was written', () => {
  for (const idleTimeout of [0, -1, '100', Infinity]) {
    assertConfigError(resolve({ routes: [{ match: '/a', targets: A, idleTimeout }] }), 'routes[0].idleTimeout', /^routes\[0\]\.idleTimeout: expected a number > 0/);
  }
  assertConfigError(resolve({ target: A, idleTimeout: 0 }), 'idleTimeout', /^idleTimeout: /);
});

test('a stripPrefix that is not a boolean names routes[i].stripPrefix', () => {
  assertConfigError(resolve({ routes: [{ match: '/a', targets: A, stripPrefix: 'yes' }] }), 'routes[0].stripPrefix', 'routes[0].stripPrefix: expected true or false, got "yes"');
});

test('a bad breaker value of a route names routes[i].breaker.option', () => {
  assertConfigError(
    resolve({ routes: [{ match: '/a', targets: A, breaker: { failureThreshold: 0 } }] }),
    'routes[0].breaker.failureThreshold',
    /^routes\[0\]\.breaker\.failureThreshold: expected an integer >= 1, got 0/,
  );
});

test('a bad proxy-level breaker value names breaker.option, where it was written, not the first route', () => {
  assertConfigError(
    resolve({ breaker: { failureThreshold: 0 }, routes: [{ match: '/a', targets: A }] }),
    'breaker.failureThreshold',
    /^breaker\.failureThreshold: expected an integer >= 1, got 0/,
  );
});

test('a route breaker option set to undefined leaves the proxy-level value in force', () => {
  const config = resolveProxyOptions({ breaker: { failureThreshold: 3 }, routes: [{ match: '/a', targets: A, breaker: { failureThreshold: undefined } }] });
  assert.equal(config.routes[0]!.breaker.failureThreshold, 3);
});

test('a bad match says what a path prefix may hold', () => {
  assertConfigError(
    resolve({ routes: [{ match: '/café', targets: A }] }),
    'routes[0].match',
    'routes[0].match: path prefix "/café" must be a plain path like /api/users (ASCII, other characters percent-encoded; no query, dot segments or empty segments)',
  );
  assertConfigError(resolve({ routes: [{ match: 'api example.com', targets: A }] }), 'routes[0].match', 'routes[0].match: "api example.com" is not a host name');
  assertConfigError(
    resolve({ routes: [{ match: '', targets: A }] }),
    'routes[0].match',
    'routes[0].match: expected a path prefix ("/api"), a host ("api.example.com") or both ("api.example.com/v2"), got ""',
  );
});

test('a breaker value of the wrong type names where it was written', () => {
  assertConfigError(resolve({ routes: [{ match: '/a', targets: A, breaker: { resetTimeout: '5s' } }] }), 'routes[0].breaker.resetTimeout', /^routes\[0\]\.breaker\.resetTimeout: expected a number > 0, got "5s"/);
});

test('a route resetTimeout above the proxy resetTimeoutMax is refused, naming the bound', () => {
  assertConfigError(
    resolve({ breaker: { resetTimeoutMax: 1000 }, routes: [{ match: '/a', targets: A, breaker: { resetTimeout: 5000 } }] }),
    'breaker.resetTimeoutMax',
    'breaker.resetTimeoutMax: expected >= resetTimeout (5000), got 1000',
  );
});

test('options nested in a config file carry the outer path', () => {
  assertConfigError(() => resolveProxyOptions({ routes: [{ match: '/a', targets: ['ftp://x'] }] }, 'proxy'), 'proxy.routes[0].targets[0]', /^proxy\.routes\[0\]\.targets\[0\]: /);
  assertConfigError(() => resolveProxyOptions({ routes: [{ match: '/a', targets: A }, { match: '/a', targets: B }] }, 'proxy'), 'proxy.routes[1]', /^proxy\.routes\[1\]: matches the same requests/);
});

test('a route breaker that is not an object names routes[i].breaker', () => {
  assertConfigError(resolve({ routes: [{ match: '/a', targets: A, breaker: 5 }] }), 'routes[0].breaker', 'routes[0].breaker: expected an object, got 5');
});

test('a route that is not an object names routes[i]', () => {
  assertConfigError(resolve({ routes: [{ match: '/a', targets: A }, '/b'] }), 'routes[1]', 'routes[1]: expected an object, got "/b"');
});

test('an empty or non-array routes is refused', () => {
  assertConfigError(resolve({ routes: [] }), 'routes', /^routes: expected a non-empty array of routes, got an array/);
  assertConfigError(resolve({ routes: { match: '/' } }), 'routes', /^routes: expected a non-empty array of routes, got an object/);
});

test('giving none or several of target, targets and routes is refused', () => {
  assertConfigError(resolve({}), '', 'no target: give `target`, `targets` or `routes`');
  assertConfigError(resolve({ target: A, routes: [{ match: '/', targets: B }] }), '', 'give only one of `target`, `targets` and `routes`');
});

test('errors in the target shorthand name `target` and `targets[i]`', () => {
  assertConfigError(resolve({ target: 'ftp://x' }), 'target', 'target: "ftp://x" is not an http(s) URL');
  assertConfigError(resolve({ targets: [A, 'ftp://x'] }), 'targets[1]', 'targets[1]: "ftp://x" is not an http(s) URL');
});

test('options that are not an object are refused', () => {
  assertConfigError(resolve(null), 'options', 'options: expected an object, got null');
});

test('the proxy-level options are validated with their names', () => {
  assertConfigError(resolve({ target: A, timeout: 0 }), 'timeout', /^timeout: /);
  assertConfigError(resolve({ target: A, retries: 1.5 }), 'retries', /^retries: expected an integer/);
  assertConfigError(resolve({ target: A, maxConcurrent: 0 }), 'maxConcurrent', /^maxConcurrent: /);
  assertConfigError(resolve({ target: A, preserveHost: 1 }), 'preserveHost', /^preserveHost: expected true or false/);
  assertConfigError(resolve({ target: A, probePath: 'health' }), 'probePath', /^probePath: expected a path like \/health/);
  assertConfigError(resolve({ target: A, failureStatus: '5xx' }), 'failureStatus', /^failureStatus: /);
});

test('createProxy throws the ConfigError, so a bad config never starts a proxy', () => {
  assertConfigError(() => createProxy({ routes: [{ match: '/a', targets: ['ftp://x'] }] }), 'routes[0].targets[0]', /is not an http\(s\) URL/);
});
