/** classify(): which status and RFC 9209 error type each upstream connection error gets. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { classify, NOT_SENT } from '../lib/proxy/classify.js';

function errorWith(code: string | undefined): Error & { code?: string } {
  return Object.assign(new Error('boom'), code === undefined ? {} : { code });
}

const CASES: Array<[string | undefined, number, string]> = [
  ['ECONNREFUSED', 502, 'connection_refused'],
  ['ENOTFOUND', 502, 'dns_error'],
  ['EAI_AGAIN', 502, 'dns_error'],
  ['EAI_NONAME', 502, 'dns_error'],
  ['ETIMEDOUT', 504, 'connection_timeout'],
  ['EHOSTUNREACH', 502, 'destination_ip_unroutable'],
  ['ENETUNREACH', 502, 'destination_ip_unroutable'],
  ['HPE_HEADER_OVERFLOW', 502, 'http_response_header_section_size'],
  ['HPE_INVALID_CONSTANT', 502, 'http_protocol_error'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 502, 'tls_certificate_error'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 502, 'tls_certificate_error'],
  ['CERT_HAS_EXPIRED', 502, 'tls_certificate_error'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 502, 'tls_certificate_error'],
  ['ERR_SSL_WRONG_VERSION_NUMBER', 502, 'tls_protocol_error'],
  ['EPROTO', 502, 'tls_protocol_error'],
  ['ERR_TLS_HANDSHAKE_TIMEOUT', 502, 'tls_protocol_error'],
  ['ECONNRESET', 502, 'connection_terminated'],
  ['EPIPE', 502, 'connection_terminated'],
  [undefined, 502, 'connection_terminated'],
];

for (const [code, status, type] of CASES) {
  test(`classify: ${code ?? 'no code'} -> ${status} ${type}`, () => {
    assert.deepEqual(classify(errorWith(code)), { status, type });
  });
}

test('classify: a lib/http1 parse error is a protocol error, its hang-up a terminated connection', async () => {
  const { ParseError } = await import('../lib/http1/response-parser.js');
  assert.deepEqual(classify(new ParseError('HPE_INVALID_STATUS', 'bad')), { status: 502, type: 'http_protocol_error' });
  assert.deepEqual(classify(new ParseError('ECONNRESET', 'socket hang up')), { status: 502, type: 'connection_terminated' });
});

test('NOT_SENT: a refused or unroutable connection never carried the request; a reset may have', () => {
  assert.ok(NOT_SENT.has('ECONNREFUSED'));
  assert.ok(NOT_SENT.has('EHOSTUNREACH'));
  assert.ok(!NOT_SENT.has('ECONNRESET'));
  assert.ok(!NOT_SENT.has('ETIMEDOUT'));
});
