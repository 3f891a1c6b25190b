/**
 * `X-Forwarded-Port` and the opt-in RFC 7239 `Forwarded` field. First forwarded.ts and headers.ts
 * on their own, then through the proxy.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardedElement, forwardedNode, isForwardedList } from '../lib/proxy/forwarded.js';

// --- forwarded.ts on its own -----------------------------------------------------------------

test('forwardedNode writes IPv4 as a token and IPv6 quoted in brackets (RFC 7239 6)', () => {
  assert.equal(forwardedNode('192.0.2.43'), '192.0.2.43');
  assert.equal(forwardedNode('2001:db8:cafe::17'), '"[2001:db8:cafe::17]"');
  assert.equal(forwardedNode('::ffff:127.0.0.1'), '"[::ffff:127.0.0.1]"');
});

test('forwardedNode is unknown without an address', () => {
  assert.equal(forwardedNode(''), 'unknown');
});

test('forwardedElement names the client, the host it asked for and the scheme', () => {
  assert.equal(forwardedElement('192.0.2.43', 'example.com', 'https'), 'for=192.0.2.43;host=example.com;proto=https');
});

test('forwardedElement quotes a host with a port', () => {
  assert.equal(forwardedElement('192.0.2.43', 'example.com:8080', 'http'), 'for=192.0.2.43;host="example.com:8080";proto=http');
});

test('forwardedElement leaves host out when the client sent none', () => {
  assert.equal(forwardedElement('::1', '', 'http'), 'for="[::1]";proto=http');
});

test('isForwardedList accepts the forms of RFC 7239 4 and 7.1', () => {
  for (const value of [
    'for="_gazonk"',
    'For="[2001:db8:cafe::17]:4711"',
    'for=192.0.2.60;proto=http;by=203.0.113.43',
    'for=192.0.2.43, for=198.51.100.17',
    'for=192.0.2.43 ,for=198.51.100.17 ; proto=https',
    'for="a\\"b"',
    'for=a,,for=b',
    '',
  ]) {
    assert.equal(isForwardedList(value), true, value);
  }
});

test('isForwardedList refuses what would swallow or garble an appended element', () => {
  for (const value of [
    'for="unterminated',
    'for="ends in a backslash\\',
    'for=a b',
    'for',
    'for=',
    '=x',
    'for=a;=b',
    'for=[::1]',
    'for="a"b',
    'for="\x01"',
    'f(r=a',
  ]) {
    assert.equal(isForwardedList(value), false, value);
  }
});
