/** The log lines, in-process with a fixed clock: text for people, one JSON object per line for machines. */
import * as assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { Log, reasonOf } from '../lib/cli/log.js';
import { UpstreamConnectionError, UpstreamStatusError, UpstreamTimeoutError, type ProxyErrorInfo } from '../lib/index.js';

const TARGET = 'http://127.0.0.1:3000';

function capture(format: 'text' | 'json'): { log: Log; lines: string[] } {
  const lines: string[] = [];
  const log = new Log(format, { write: (chunk: string) => lines.push(chunk) }, () => new Date(Date.UTC(2026, 10, 27, 23, 59, 1, 123)));
  return { log, lines };
}

const refused = new UpstreamConnectionError('connection_refused', TARGET, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));

test('a state change is one text line: time, target, from -> to, failures, reason', () => {
  const { log, lines } = capture('text');
  log.stateChange({ target: TARGET, from: 'CLOSED', to: 'OPEN', failures: 5, error: refused });
  log.stateChange({ target: TARGET, from: 'OPEN', to: 'HALF_OPEN', failures: 1 });
  assert.deepEqual(lines, [
    `2026-11-27T23:59:01.123Z circuit ${TARGET} CLOSED -> OPEN (5 failures; last: ECONNREFUSED)\n`,
    `2026-11-27T23:59:01.123Z circuit ${TARGET} OPEN -> HALF_OPEN (1 failure)\n`,
  ]);
});

test('a state change in JSON has every field, reason null when there is none', () => {
  const { log, lines } = capture('json');
  log.stateChange({ target: TARGET, from: 'CLOSED', to: 'OPEN', failures: 5, error: refused });
  log.stateChange({ target: TARGET, from: 'HALF_OPEN', to: 'CLOSED', failures: 0 });
  assert.deepEqual(lines.map((line) => JSON.parse(line)), [
    { time: '2026-11-27T23:59:01.123Z', level: 'warn', event: 'stateChange', target: TARGET, from: 'CLOSED', to: 'OPEN', failures: 5, reason: 'ECONNREFUSED' },
    { time: '2026-11-27T23:59:01.123Z', level: 'info', event: 'stateChange', target: TARGET, from: 'HALF_OPEN', to: 'CLOSED', failures: 0, reason: null },
  ]);
});

test('an upstream error logs its type, code and target, never the request headers', () => {
  const req = { headers: { authorization: 'Bearer s3cret' }, url: '/x?token=s3cret' } as unknown as IncomingMessage;
  const info: ProxyErrorInfo = { target: TARGET, route: '/api', error: new UpstreamTimeoutError(TARGET, 1000), req };
  const text = capture('text');
  text.log.proxyError(info);
  assert.deepEqual(text.lines, [`2026-11-27T23:59:01.123Z upstream error ${TARGET} (route /api): http_response_timeout ERR_UPSTREAM_TIMEOUT: no response headers within 1000 ms\n`]);
  const json = capture('json');
  json.log.proxyError(info);
  assert.deepEqual(JSON.parse(json.lines[0]!), {
    time: '2026-11-27T23:59:01.123Z', level: 'warn', event: 'proxyError', target: TARGET, route: '/api',
    code: 'ERR_UPSTREAM_TIMEOUT', type: 'http_response_timeout', reason: 'no response headers within 1000 ms',
  });
  assert.ok(!`${text.lines}${json.lines}`.includes('s3cret'));
});

test('fatal errors and events: one line each, newlines flattened', () => {
  const text = capture('text');
  text.log.fatal('--timeout: bad', true);
  text.log.fatal('cannot listen');
  text.log.event('info', 'reload', 'reloaded\nfile');
  text.log.event('warn', 'insecure', 'careful');
  text.log.event('error', 'reloadFailed', 'broken');
  assert.deepEqual(text.lines, [
    'proxy-breaker: --timeout: bad (see --help)\n',
    'proxy-breaker: cannot listen\n',
    '2026-11-27T23:59:01.123Z reloaded file\n',
    '2026-11-27T23:59:01.123Z warning: careful\n',
    '2026-11-27T23:59:01.123Z error: broken\n',
  ]);
  const json = capture('json');
  json.log.fatal('bad\nthing', true);
  json.log.event('info', 'reload', 'ok', { file: 'p.json' });
  assert.deepEqual(json.lines.map((line) => JSON.parse(line)), [
    { time: '2026-11-27T23:59:01.123Z', level: 'error', event: 'error', message: 'bad\nthing' },
    { time: '2026-11-27T23:59:01.123Z', level: 'info', event: 'reload', message: 'ok', file: 'p.json' },
  ]);
});

test('reasonOf: the cause\'s system code, else the message without the target', () => {
  assert.equal(reasonOf(refused, TARGET), 'ECONNREFUSED');
  assert.equal(reasonOf(new UpstreamStatusError(TARGET, 503), TARGET), 'answered 503');
  assert.equal(reasonOf(new Error('boom'), TARGET), 'boom');
  assert.equal(reasonOf('odd', TARGET), 'odd');
  assert.equal(reasonOf(undefined, TARGET), undefined);
});
