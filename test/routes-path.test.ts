import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesPrefix, normalizeHost, normalizeRequestTarget, removeDotSegments } from '../lib/proxy/path.js';

// --- removeDotSegments: RFC 3986 5.2.4 and the 5.4 examples (base http://a/b/c/d;p?q, merged) ---

test('removeDotSegments follows the RFC 3986 5.2.4 walk-through: /a/b/c/./../../g is /a/g', () => {
  assert.equal(removeDotSegments('/a/b/c/./../../g'), '/a/g');
});

test('removeDotSegments resolves the RFC 3986 5.2.4 mid/content=5/../6 example as an absolute path', () => {
  assert.equal(removeDotSegments('/mid/content=5/../6'), '/mid/6');
});

test('removeDotSegments gives the RFC 3986 5.4.1 normal examples', () => {
  const cases: Array<[string, string]> = [
    ['/b/c/./g', '/b/c/g'],
    ['/b/c/g/', '/b/c/g/'],
    ['/b/c/.', '/b/c/'],
    ['/b/c/./', '/b/c/'],
    ['/b/c/..', '/b/'],
    ['/b/c/../', '/b/'],
    ['/b/c/../g', '/b/g'],
    ['/b/c/../..', '/'],
    ['/b/c/../../', '/'],
    ['/b/c/../../g', '/g'],
  ];
  for (const [input, expected] of cases) assert.equal(removeDotSegments(input), expected, input);
});

test('removeDotSegments gives the RFC 3986 5.4.2 abnormal examples: .. never climbs above the root', () => {
  const cases: Array<[string, string]> = [
    ['/b/c/../../../g', '/g'],
    ['/b/c/../../../../g', '/g'],
    ['/./g', '/g'],
    ['/../g', '/g'],
    ['/b/c/g.', '/b/c/g.'],
    ['/b/c/.g', '/b/c/.g'],
    ['/b/c/g..', '/b/c/g..'],
    ['/b/c/..g', '/b/c/..g'],
    ['/b/c/./../g', '/b/g'],
    ['/b/c/./g/.', '/b/c/g/'],
    ['/b/c/g/./h', '/b/c/g/h'],
    ['/b/c/g/../h', '/b/c/h'],
    ['/b/c/g;x=1/./y', '/b/c/g;x=1/y'],
    ['/b/c/g;x=1/../y', '/b/c/y'],
  ];
  for (const [input, expected] of cases) assert.equal(removeDotSegments(input), expected, input);
});

test('removeDotSegments turns a lone . or .. into the root', () => {
  assert.equal(removeDotSegments('/.'), '/');
  assert.equal(removeDotSegments('/..'), '/');
  assert.equal(removeDotSegments('/'), '/');
});

// --- normalizeRequestTarget ---

test('normalizeRequestTarget returns a plain path unchanged and splits off the query', () => {
  assert.deepEqual(normalizeRequestTarget('/api/users/7'), { path: '/api/users/7', query: '' });
  assert.deepEqual(normalizeRequestTarget('/api/users?id=7&x=%2e%2e'), { path: '/api/users', query: '?id=7&x=%2e%2e' });
});

test('normalizeRequestTarget removes dot segments: /api/../admin is /admin', () => {
  assert.deepEqual(normalizeRequestTarget('/api/../admin'), { path: '/admin', query: '' });
  assert.deepEqual(normalizeRequestTarget('/api/./x'), { path: '/api/x', query: '' });
  assert.deepEqual(normalizeRequestTarget('/../../etc/passwd'), { path: '/etc/passwd', query: '' });
});

test('normalizeRequestTarget keeps the query exactly as received while normalising the path', () => {
  assert.deepEqual(normalizeRequestTarget('/a/../b?next=/a/../c&q=%41'), { path: '/b', query: '?next=/a/../c&q=%41' });
});

test('normalizeRequestTarget merges runs of slashes: //api///x is /api/x', () => {
  assert.deepEqual(normalizeRequestTarget('//api///x'), { path: '/api/x', query: '' });
  assert.deepEqual(normalizeRequestTarget('//evil.example/x'), { path: '/evil.example/x', query: '' });
});

test('normalizeRequestTarget decodes percent-escapes of unreserved characters only', () => {
  assert.equal(normalizeRequestTarget('/%61%70%69')?.path, '/api');
  assert.equal(normalizeRequestTarget('/%7Euser/%2D%5F%2E')?.path, '/~user/-_.');
  assert.equal(normalizeRequestTarget('/A%42c%30')?.path, '/ABc0');
});

test('normalizeRequestTarget decodes %2E before removing dot segments: /%2e%2e/admin is /admin', () => {
  assert.equal(normalizeRequestTarget('/%2e%2e/admin')?.path, '/admin');
  assert.equal(normalizeRequestTarget('/api/%2E%2E/admin')?.path, '/admin');
  assert.equal(normalizeRequestTarget('/api/.%2e/admin')?.path, '/admin');
  assert.equal(normalizeRequestTarget('/api/%2e/x')?.path, '/api/x');
});

test('normalizeRequestTarget keeps %2F an escape, so /api%2F.. stays one segment', () => {
  assert.equal(normalizeRequestTarget('/api%2F..')?.path, '/api%2F..');
  assert.equal(normalizeRequestTarget('/api/..%2Fadmin')?.path, '/api/..%2Fadmin');
  assert.equal(normalizeRequestTarget('/a%2F%2F/b')?.path, '/a%2F%2F/b');
});

test('normalizeRequestTarget upper-cases the escapes it keeps', () => {
  assert.equal(normalizeRequestTarget('/a%2fb')?.path, '/a%2Fb');
  assert.equal(normalizeRequestTarget('/caf%c3%a9')?.path, '/caf%C3%A9');
  assert.equal(normalizeRequestTarget('/a%3fb%23c%25')?.path, '/a%3Fb%23c%25');
});

test('normalizeRequestTarget refuses malformed percent-escapes', () => {
  for (const url of ['/a%', '/a%4', '/a%zz', '/a%4g', '/%%41', '/a%G1/b']) {
    assert.equal(normalizeRequestTarget(url), undefined, url);
  }
});

test('normalizeRequestTarget refuses a backslash, which some servers read as a slash', () => {
  assert.equal(normalizeRequestTarget('/\\evil'), undefined);
  assert.equal(normalizeRequestTarget('/api\\..\\admin'), undefined);
});

test('normalizeRequestTarget refuses control characters, spaces and a fragment', () => {
  for (const url of ['/a\x00b', '/a\tb', '/a b', '/a\x7fb', '/api#x']) {
    assert.equal(normalizeRequestTarget(url), undefined, JSON.stringify(url));
  }
});

test('normalizeRequestTarget keeps the path of an absolute-form target and its authority (for host routes only)', () => {
  assert.deepEqual(normalizeRequestTarget('http://evil.example/admin'), { path: '/admin', query: '', authority: 'evil.example' });
  assert.deepEqual(normalizeRequestTarget('HTTPS://user@evil.example:8443/a/../b?x=1'), {
    path: '/b',
    query: '?x=1',
    authority: 'evil.example:8443',
  });
});

test('normalizeRequestTarget gives an absolute-form target without a path the root', () => {
  assert.deepEqual(normalizeRequestTarget('http://evil.example'), { path: '/', query: '', authority: 'evil.example' });
  assert.deepEqual(normalizeRequestTarget('http://evil.example?q=1'), { path: '/', query: '?q=1', authority: 'evil.example' });
});

test('normalizeRequestTarget refuses targets that are neither origin-form nor absolute-form', () => {
  for (const url of ['*', '@evil', '@evil.example/admin', 'evil.example/admin', 'http:/admin', 'http:admin', '', 'http://evil.example#x']) {
    assert.equal(normalizeRequestTarget(url), undefined, JSON.stringify(url));
  }
});

// --- matchesPrefix ---

test('matchesPrefix matches the prefix itself and paths below it', () => {
  assert.equal(matchesPrefix('/api', '/api'), true);
  assert.equal(matchesPrefix('/api/', '/api'), true);
  assert.equal(matchesPrefix('/api/x/y', '/api'), true);
});

test('matchesPrefix matches on segment boundaries only: /apix is not under /api', () => {
  assert.equal(matchesPrefix('/apix', '/api'), false);
  assert.equal(matchesPrefix('/api%2Fx', '/api'), false);
  assert.equal(matchesPrefix('/ap', '/api'), false);
  assert.equal(matchesPrefix('/API', '/api'), false);
});

test('matchesPrefix treats the empty prefix as the catch-all', () => {
  assert.equal(matchesPrefix('/', ''), true);
  assert.equal(matchesPrefix('/anything/at/all', ''), true);
});

// --- normalizeHost ---

test('normalizeHost lower-cases the host', () => {
  assert.equal(normalizeHost('API.Example.COM'), 'api.example.com');
});

test('normalizeHost drops the port and a trailing dot', () => {
  assert.equal(normalizeHost('api.example.com:8080'), 'api.example.com');
  assert.equal(normalizeHost('api.example.com.'), 'api.example.com');
  assert.equal(normalizeHost('API.example.com.:443'), 'api.example.com');
});

test('normalizeHost keeps an IPv6 literal in brackets and drops its port', () => {
  assert.equal(normalizeHost('[::1]:8080'), '[::1]');
  assert.equal(normalizeHost('[FE80::1]'), '[fe80::1]');
  assert.equal(normalizeHost('[::1'), '[::1');
});

test('normalizeHost leaves an empty Host empty', () => {
  assert.equal(normalizeHost(''), '');
});
