/**
 * `X-Forwarded-Port` and the opt-in RFC 7239 `Forwarded` field. First forwarded.ts and headers.ts
 * on their own, then through the proxy.
 */
import * as assert from 'node:assert/strict';
import type * as http from 'node:http';
import { test } from 'node:test';
import { forwardedElement, forwardedNode, isForwardedList } from '../lib/proxy/forwarded.js';
import { forwardRequestHeaders, type ForwardContext } from '../lib/proxy/headers.js';
import { echo, fields, proxy, request, upstream } from './proxy-helpers.js';

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

// --- headers.ts on its own -------------------------------------------------------------------

const CONTEXT: ForwardContext = { targetHost: 'up:80', preserveHost: false, proto: 'http', clientAddress: '10.0.0.1', upgrade: false, port: 8080 };

function forward(raw: string[], context: Partial<ForwardContext> = {}): string[] {
  return forwardRequestHeaders({ rawHeaders: raw } as http.IncomingMessage, { ...CONTEXT, ...context });
}

test('forwardRequestHeaders sends X-Forwarded-Port, replacing the client\'s', () => {
  assert.deepEqual(fields(forward(['Host', 'a', 'X-Forwarded-Port', '1']), 'x-forwarded-port'), ['8080']);
});

test('forwardRequestHeaders leaves X-Forwarded-Port out when the port is unknown', () => {
  assert.deepEqual(fields(forward(['Host', 'a'], { port: undefined }), 'x-forwarded-port'), []);
});

test('forwardRequestHeaders relays a client Forwarded unchanged and adds none by default', () => {
  assert.deepEqual(fields(forward(['Host', 'a', 'Forwarded', 'for=1.2.3.4']), 'forwarded'), ['for=1.2.3.4']);
});

test('forwardRequestHeaders with forwarded appends this hop to the client\'s Forwarded fields', () => {
  const out = forward(['Host', 'a.example', 'Forwarded', 'for=1.2.3.4', 'Forwarded', 'for="[::1]"'], { forwarded: true });
  assert.deepEqual(fields(out, 'forwarded'), ['for=1.2.3.4, for="[::1]", for=10.0.0.1;host=a.example;proto=http']);
});

test('forwardRequestHeaders with forwarded replaces a malformed client Forwarded', () => {
  const out = forward(['Host', 'a.example', 'Forwarded', 'for="1.2.3.4'], { forwarded: true });
  assert.deepEqual(fields(out, 'forwarded'), ['for=10.0.0.1;host=a.example;proto=http']);
});

test('Connection cannot remove X-Forwarded-Port or Forwarded', () => {
  const out = forward(['Host', 'a', 'Connection', 'X-Forwarded-Port, Forwarded', 'Forwarded', 'for=1.2.3.4'], { forwarded: true });
  assert.deepEqual(fields(out, 'x-forwarded-port'), ['8080']);
  assert.deepEqual(fields(out, 'forwarded'), ['for=1.2.3.4, for=10.0.0.1;host=a;proto=http']);
});

// --- through the proxy -----------------------------------------------------------------------

test('the target sees X-Forwarded-Port: the port the client connected to', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const seen = echo(await request(p.port, '/', { headers: { 'x-forwarded-port': '1' } }));
  assert.equal(seen.headers['x-forwarded-port'], String(p.port));
});

test('the target sees no Forwarded field unless the option is on', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assert.equal(echo(await request(p.port, '/')).headers.forwarded, undefined);
});

test('with forwarded the target sees the client, host and scheme in Forwarded', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url, forwarded: true });
  const seen = echo(await request(p.port, '/', { headers: { host: 'shop.example:8443', forwarded: 'for=192.0.2.60;proto=https' } }));
  assert.equal(seen.headers.forwarded, 'for=192.0.2.60;proto=https, for=127.0.0.1;host="shop.example:8443";proto=http');
});

test('forwarded set on one route adds the field to that route\'s requests only', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { routes: [{ match: '/on', targets: up.url, forwarded: true }, { match: '/', targets: up.url }] });
  assert.match(echo(await request(p.port, '/on')).headers.forwarded ?? '', /^for=127\.0\.0\.1;/);
  assert.equal(echo(await request(p.port, '/')).headers.forwarded, undefined);
});
