/**
 * The upstream request head (lib/http1/request-head.ts): what it writes, and that no CR, LF or
 * other control character can get into it from a path or a field.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestHead } from '../lib/http1/request-head.js';

test('the head is the request line, the fields in order, the pool\'s Connection field and a blank line', () => {
  assert.equal(
    requestHead('GET', '/a?b=c', ['Host', 'x', 'X-Two', 'a', 'X-Two', 'b']),
    'GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Two: a\r\nX-Two: b\r\nConnection: keep-alive\r\n\r\n',
  );
});

test('obs-text and tabs in a value pass, as Node\'s parser passes them', () => {
  assert.equal(requestHead('GET', '/caf\xe9', ['X-A', 'tab\there \xff']), 'GET /caf\xe9 HTTP/1.1\r\nX-A: tab\there \xff\r\nConnection: keep-alive\r\n\r\n');
});

const INVALID: Array<[what: string, method: string, path: string, fields: string[]]> = [
  ['a CRLF in the path', 'GET', '/a\r\nX-Injected: 1', []],
  ['a space in the path', 'GET', '/a b', []],
  ['an empty path', 'GET', '', []],
  ['a NUL in the path', 'GET', '/a\0', []],
  ['a method with a space', 'GET /x', '/', []],
  ['a CRLF in a value', 'GET', '/', ['X-A', 'a\r\nX-Injected: 1']],
  ['a bare LF in a value', 'GET', '/', ['X-A', 'a\nb']],
  ['a NUL in a value', 'GET', '/', ['X-A', 'a\0b']],
  ['a colon in a name', 'GET', '/', ['X:A', 'a']],
  ['an empty name', 'GET', '/', ['', 'a']],
];

for (const [what, method, path, fields] of INVALID) {
  test(`no head with ${what}`, () => {
    assert.equal(requestHead(method, path, fields), undefined);
  });
}
