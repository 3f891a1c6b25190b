import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJson, syntaxErrorOffset } from '../lib/cli/json.js';

test('valid JSON parses, a byte order mark included', () => {
  assert.deepEqual(parseJson('\uFEFF{"a": [1, -2.5e3, true, null, "x\\u00e9\\n"]}'), { value: { a: [1, -2500, true, null, 'xé\n'] } });
});

test('a syntax error is reported at its line and column', () => {
  const cases: Array<[string, number, number, string]> = [
    ['{"a": }', 1, 7, 'unexpected "}"'],
    ['{\n  "a": 1,\n}', 3, 1, 'unexpected "}"'],
    ['{"a": 1', 1, 8, 'unexpected end of input'],
    ['', 1, 1, 'unexpected end of input'],
    ['{"a": 1} x', 1, 10, 'unexpected "x"'],
    ["{'a': 1}", 1, 2, 'unexpected "\'"'],
    ['[1 2]', 1, 4, 'unexpected "2"'],
    ['{"a" 1}', 1, 6, 'unexpected "1"'],
    ['["\\x"]', 1, 4, 'unexpected "x"'],
    ['["a\tb"]', 1, 4, 'unexpected "\\t"'],
    ['["abc', 1, 6, 'unexpected end of input'],
    ['[01]', 1, 3, 'unexpected "1"'],
    ['[tru]', 1, 2, 'unexpected "t"'],
  ];
  for (const [text, line, column, reason] of cases) {
    assert.deepEqual(parseJson(text), { error: { line, column, reason } }, text);
  }
});

test('the scanner agrees with JSON.parse on valid documents', () => {
  for (const text of ['{}', '[]', ' [ {"a" : [ ] } , "\\"" ] ', '0', '-0.5E+2']) assert.equal(syntaxErrorOffset(text), text.length);
});

test('a document nested too deep to scan still gets an error, without a position', () => {
  const result = parseJson(`${'['.repeat(200_000)}x`);
  assert.ok('error' in result);
  assert.equal(result.error.line, 0);
});
