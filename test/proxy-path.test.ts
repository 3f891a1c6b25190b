/** path.ts on its own: request-target normalisation, prefix and host matching. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesPrefix, normalizeHost, normalizeRequestTarget, removeDotSegments } from '../lib/proxy/path.js';

function path(url: string): string | undefined {
  return normalizeRequestTarget(url)?.path;
}

test('a plain origin-form path is kept as is, query apart', () => {
  assert.deepEqual(normalizeRequestTarget('/a/b?c=d'), { path: '/a/b', query: '?c=d' });
  assert.deepEqual(normalizeRequestTarget('/'), { path: '/', query: '' });
});

test('absolute-form gives its path, query and authority', () => {
  assert.deepEqual(normalizeRequestTarget('http://evil.example/x?y'), { path: '/x', query: '?y', authority: 'evil.example' });
  assert.deepEqual(normalizeRequestTarget('HTTPS://evil.example:1/'), { path: '/', query: '', authority: 'evil.example:1' });
  assert.deepEqual(normalizeRequestTarget('http://evil.example'), { path: '/', query: '', authority: 'evil.example' });
  assert.deepEqual(normalizeRequestTarget('http://evil.example?q'), { path: '/', query: '?q', authority: 'evil.example' });
});

test('the authority of an absolute-form target drops userinfo', () => {
  assert.equal(normalizeRequestTarget('http://user:pw@evil.example/x')?.authority, 'evil.example');
});

test('an origin-form target has no authority', () => {
  assert.equal(normalizeRequestTarget('/x')?.authority, undefined);
});

test('targets that are neither origin- nor absolute-form are refused', () => {
  assert.equal(normalizeRequestTarget('*'), undefined);
  assert.equal(normalizeRequestTarget('example.com:443'), undefined);
  assert.equal(normalizeRequestTarget(''), undefined);
});

test('a fragment in the path is refused', () => {
  assert.equal(normalizeRequestTarget('/a#b'), undefined);
});

test('a backslash or a control character is refused', () => {
  assert.equal(path('/a\\b'), undefined);
  assert.equal(path('/a\x00b'), undefined);
  assert.equal(path('/a b'), undefined);
  assert.equal(path('/a\x7f'), undefined);
});

test('malformed percent-escapes are refused', () => {
  assert.equal(path('/a%'), undefined);
  assert.equal(path('/a%4'), undefined);
  assert.equal(path('/a%zz'), undefined);
});

test('escapes of unreserved characters are decoded, others kept upper-cased', () => {
  assert.equal(path('/%41%7e%2d'), '/A~-');
  assert.equal(path('/a%2fb%3a'), '/a%2Fb%3A');
});

test('encoded dots become dot-segments and are resolved', () => {
  assert.equal(path('/api/%2e%2e/admin'), '/admin');
  assert.equal(path('/api/%2E/x'), '/api/x');
});

test('dot-segments never climb above the root', () => {
  assert.equal(path('/../../etc/passwd'), '/etc/passwd');
  assert.equal(path('/a/..'), '/');
  assert.equal(path('/a/.'), '/a/');
  assert.equal(path('/a/b/../'), '/a/');
});

test('runs of slashes become one', () => {
  assert.equal(path('//a//b///'), '/a/b/');
});

test('a dot that is part of a name is kept', () => {
  assert.equal(path('/.well-known/x'), '/.well-known/x');
  assert.equal(path('/a/..b/c.'), '/a/..b/c.');
});

test('removeDotSegments leaves a path without dot-segments untouched', () => {
  assert.equal(removeDotSegments('/a/b'), '/a/b');
  assert.equal(removeDotSegments('/a/./b/../c'), '/a/c');
});

test('matchesPrefix matches at segment boundaries', () => {
  assert.equal(matchesPrefix('/api', '/api'), true);
  assert.equal(matchesPrefix('/api/x', '/api'), true);
  assert.equal(matchesPrefix('/apix', '/api'), false);
  assert.equal(matchesPrefix('/ap', '/api'), false);
  assert.equal(matchesPrefix('/anything', ''), true);
});

test('normalizeHost lower-cases and drops the port and a trailing dot', () => {
  assert.equal(normalizeHost('Example.COM:8080'), 'example.com');
  assert.equal(normalizeHost('example.com.'), 'example.com');
  assert.equal(normalizeHost('[::1]:8080'), '[::1]');
  assert.equal(normalizeHost('[::1'), '[::1');
  assert.equal(normalizeHost(''), '');
});
