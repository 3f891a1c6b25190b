/**
 * The response parser (lib/http1/response-parser.ts) on the responses a differential run against
 * llhttp found read differently, or accepted here and refused there. Each test names the decision:
 * refused (an `HPE_*` error, so the proxy answers 502 and the connection is closed), accepted, or
 * accepted with the connection not reused. The bytes are fed in one read and byte by byte.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError, ResponseParser, type ResponseHandler, type ResponseHead } from '../lib/http1/response-parser.js';

/** What one response delivered, in order, as short strings. */
class Recorder implements ResponseHandler {
  readonly events: string[] = [];
  head: ResponseHead | undefined;
  body = '';
  trailers: string[] | undefined;
  onInterim(): void {
    this.events.push('interim');
  }
  onHead(head: ResponseHead): void {
    this.events.push(`head ${head.statusCode}`);
    this.head = head;
  }
  onBody(chunk: Buffer, last: boolean): void {
    this.body += chunk.toString('latin1');
    if (last) this.events.push('last');
  }
  onComplete(trailers: string[] | undefined): void {
    this.events.push('complete');
    this.trailers = trailers;
  }
}

interface Parsed {
  parser: ResponseParser;
  rec: Recorder;
  done: boolean;
}

/** Feeds `text` in one read, or one byte per read with `split`; stops at completion. */
function parse(text: string, { noBody = false, split = false } = {}): Parsed {
  const rec = new Recorder();
  const parser = new ResponseParser(rec);
  parser.start(noBody);
  const bytes = Buffer.from(text, 'latin1');
  if (!split) return { parser, rec, done: parser.execute(bytes) };
  for (let i = 0; i < bytes.length; i++) {
    if (parser.execute(bytes.subarray(i, i + 1))) return { parser, rec, done: true };
  }
  return { parser, rec, done: false };
}

/** `text` is refused with `code`, whole and byte by byte. */
function assertRefused(text: string, code: string, noBody = false): void {
  for (const split of [false, true]) {
    assert.throws(
      () => parse(text, { noBody, split }),
      (error: unknown) => error instanceof ParseError && error.code === code,
      `${JSON.stringify(text)} (${split ? 'byte by byte' : 'one read'}) is ${code}`,
    );
  }
}

/** `text` is a complete response, whole and byte by byte, with the same keep-alive answer. */
function assertComplete(text: string, keepAlive: boolean, noBody = false): Parsed {
  let last: Parsed | undefined;
  for (const split of [false, true]) {
    last = parse(text, { noBody, split });
    assert.equal(last.done, true, `${JSON.stringify(text)} completes (${split ? 'byte by byte' : 'one read'})`);
    assert.equal(last.parser.keepAlive, keepAlive, `${JSON.stringify(text)} keepAlive (${split ? 'byte by byte' : 'one read'})`);
  }
  return last!;
}

const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
const FINAL = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

// Status codes (RFC 9110 15: 100-599)

for (const code of ['000', '099', '600', '888', '999']) {
  test(`refused: status code ${code} is outside 100-599 (RFC 9110 15), HPE_INVALID_STATUS`, () => {
    assertRefused(`HTTP/1.1 ${code} Odd\r\nContent-Length: 2\r\n\r\nok`, 'HPE_INVALID_STATUS');
  });
}

test('accepted: status codes 100 (interim), 200 and 599 (the bounds of RFC 9110 15)', () => {
  assert.deepEqual(parse(`HTTP/1.1 100 Continue\r\n\r\n${FINAL}`).rec.events, ['interim', 'head 200', 'last', 'complete']);
  assert.deepEqual(parse('HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n').rec.events, ['head 599', 'last', 'complete']);
});

// Transfer-Encoding lists

for (const value of ['chunked,', 'chunked , ', ', chunked', 'gzip,,chunked', '', ',']) {
  test(`refused: Transfer-Encoding ${JSON.stringify(value)} has an empty member (llhttp reads some as close-delimited), HPE_INVALID_TRANSFER_ENCODING`, () => {
    assertRefused(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${value}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, 'HPE_INVALID_TRANSFER_ENCODING');
  });
}

test('refused: a second Transfer-Encoding field of just "," after chunked, HPE_INVALID_TRANSFER_ENCODING', () => {
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: ,\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING');
});

test('refused: Transfer-Encoding "chunked" followed by a tab (llhttp reads it as close-delimited), HPE_INVALID_TRANSFER_ENCODING', () => {
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING');
  assertRefused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked \t \r\n\r\n5\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING');
});

test('accepted: Transfer-Encoding with spaces after chunked, a tab before it, or spaces and tabs around commas (llhttp agrees)', () => {
  for (const value of ['chunked ', '\tchunked', 'gzip\t,\tchunked', 'gzip ,chunked']) {
    const { rec } = assertComplete(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${value}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, true);
    assert.equal(rec.body, 'hello', JSON.stringify(value));
  }
});

for (const value of ['', ',', ' , ']) {
  test(`refused: Content-Length next to an empty or comma-only Transfer-Encoding ${JSON.stringify(value)} (as any Content-Length with Transfer-Encoding)`, () => {
    for (const order of [`Content-Length: 5\r\nTransfer-Encoding: ${value}`, `Transfer-Encoding: ${value}\r\nContent-Length: 5`]) {
      assertRefused(`HTTP/1.1 200 OK\r\n${order}\r\n\r\nhello`, 'HPE_INVALID_TRANSFER_ENCODING');
    }
  });
}

// Whitespace around framing values (RFC 9112 5.5) and in chunk extensions (RFC 9112 7.1.1)

test('refused: "Content-Length: 5" followed by a tab (llhttp refuses it; RFC 9112 5.5 would trim it), HPE_INVALID_CONTENT_LENGTH', () => {
  assertRefused('HTTP/1.1 200 OK\r\nContent-Length: 5\t\r\n\r\nhello', 'HPE_INVALID_CONTENT_LENGTH');
  assertRefused('HTTP/1.1 200 OK\r\nContent-Length: 5 \t\r\n\r\nhello', 'HPE_INVALID_CONTENT_LENGTH');
});

test('accepted: Content-Length with spaces after it or a tab before it (OWS, RFC 9112 5.5; llhttp agrees)', () => {
  for (const value of ['5 ', '\t5', ' \t 5  ']) {
    const { rec } = assertComplete(`HTTP/1.1 200 OK\r\nContent-Length:${value}\r\n\r\nhello`, true);
    assert.equal(rec.body, 'hello', JSON.stringify(value));
  }
});

test('accepted: a tab after the value of a field that is not framing is trimmed (RFC 9112 5.5 OWS)', () => {
  const { rec } = assertComplete('HTTP/1.1 200 OK\r\nX-A: a\t\r\nContent-Length: 0\r\n\r\n', true);
  assert.deepEqual(rec.head?.rawHeaders, ['X-A', 'a', 'Content-Length', '0']);
});

for (const extension of ['; a=b', ';a =b', ';a= b', ';a=b ', ';\ta=b', ' ;a=b', ';a=b\t']) {
  test(`refused: whitespace in a chunk extension ${JSON.stringify(extension)} (RFC 9112 7.1.1 BWS, which senders must not send and llhttp refuses), HPE_INVALID_CHUNK_SIZE`, () => {
    assertRefused(`${CHUNKED}5${extension}\r\nhello\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE');
  });
}

test('accepted: chunk extensions without whitespace, and a quoted value with a space inside (llhttp agrees)', () => {
  for (const extension of [';a', ';a=b', ';a=b;c', ';a="q x"', ';a="q\\"x"']) {
    const { rec } = assertComplete(`${CHUNKED}5${extension}\r\nhello\r\n0\r\n\r\n`, true);
    assert.equal(rec.body, 'hello', JSON.stringify(extension));
  }
});

// Interim (1xx) heads

test('refused: a final response after a 1xx with Connection: close (llhttp: data after close), HPE_CLOSED_CONNECTION', () => {
  assertRefused(`HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n${FINAL}`, 'HPE_CLOSED_CONNECTION');
});

test('refused: a final response after an HTTP/1.0 1xx without keep-alive (it closes the connection), HPE_CLOSED_CONNECTION', () => {
  assertRefused(`HTTP/1.0 100 Continue\r\n\r\n${FINAL}`, 'HPE_CLOSED_CONNECTION');
});

test('a 1xx with Connection: close and then nothing: the target hung up (ECONNRESET at EOF)', () => {
  const { parser, rec, done } = parse('HTTP/1.1 103 Early Hints\r\nConnection: close\r\n\r\n');
  assert.equal(done, false);
  assert.deepEqual(rec.events, ['interim']);
  assert.throws(() => parser.finish(), (error: unknown) => error instanceof ParseError && error.code === 'ECONNRESET');
});

test('accepted: an HTTP/1.0 1xx with Connection: keep-alive, then the final response (llhttp agrees)', () => {
  const { rec } = assertComplete(`HTTP/1.0 100 Continue\r\nConnection: keep-alive\r\n\r\n${FINAL}`, true);
  assert.deepEqual(rec.events, ['interim', 'head 200', 'last', 'complete']);
});

test('refused: two Content-Length fields in a 1xx, HPE_UNEXPECTED_CONTENT_LENGTH', () => {
  assertRefused(`HTTP/1.1 100 Continue\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n${FINAL}`, 'HPE_UNEXPECTED_CONTENT_LENGTH');
});

test('refused: Content-Length with Transfer-Encoding in a 1xx, HPE_UNEXPECTED_CONTENT_LENGTH', () => {
  assertRefused(`HTTP/1.1 103 Early Hints\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n${FINAL}`, 'HPE_UNEXPECTED_CONTENT_LENGTH');
});

test('refused: an invalid Transfer-Encoding in a 1xx, HPE_INVALID_TRANSFER_ENCODING', () => {
  assertRefused(`HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: chunked,\r\n\r\n${FINAL}`, 'HPE_INVALID_TRANSFER_ENCODING');
});

test('accepted: one Content-Length and a Keep-Alive hint in a 1xx count for nothing in the final response', () => {
  const { parser, rec } = assertComplete(`HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nKeep-Alive: timeout=3\r\n\r\n${FINAL}`, true);
  assert.equal(parser.keepAliveTimeout, 0);
  assert.equal(rec.body, 'ok');
});

// HEAD responses

test('a HEAD response with neither Content-Length nor Transfer-Encoding completes, but the connection is not reused (as Node\'s client)', () => {
  const { rec } = assertComplete('HTTP/1.1 200 OK\r\n\r\n', false, true);
  assert.deepEqual(rec.events, ['head 200', 'last', 'complete']);
});

test('a HEAD response with Content-Length or chunked keeps the connection reusable', () => {
  assertComplete('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', true, true);
  assertComplete('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', true, true);
});

test('a 204 or 304 to a HEAD request without framing keeps the connection reusable (they never have a body)', () => {
  assertComplete('HTTP/1.1 204 No Content\r\n\r\n', true, true);
  assertComplete('HTTP/1.1 304 Not Modified\r\n\r\n', true, true);
});

// Trailers (RFC 9110 6.5.1)

test('trailers: Content-Length in the trailer section is dropped, the body kept, and the connection not reused', () => {
  const { rec } = assertComplete(`${CHUNKED}5\r\nhello\r\n0\r\nContent-Length: 5\r\nX-Sum: 1\r\n\r\n`, false);
  assert.equal(rec.body, 'hello');
  assert.deepEqual(rec.trailers, ['X-Sum', '1']);
});

test('trailers: Transfer-Encoding in the trailer section is dropped and the connection not reused', () => {
  const { rec } = assertComplete(`${CHUNKED}5\r\nhello\r\n0\r\nTransfer-Encoding: gzip\r\n\r\n`, false);
  assert.equal(rec.trailers, undefined);
});

test('trailers: routing, auth and control fields are dropped; the connection stays reusable', () => {
  const fields = ['Host: evil', 'Authorization: Basic x', 'Set-Cookie: a=b', 'Cookie: c=d', 'WWW-Authenticate: Basic', 'Connection: close', 'Trailer: X-Sum', 'Content-Type: text/html', 'X-Forwarded-For: 1.2.3.4', 'X-Sum: 1'];
  const { rec } = assertComplete(`${CHUNKED}5\r\nhello\r\n0\r\n${fields.join('\r\n')}\r\n\r\n`, true);
  assert.deepEqual(rec.trailers, ['X-Sum', '1']);
});

test('trailers: ordinary trailer fields pass with their case and order', () => {
  const { rec } = assertComplete(`${CHUNKED}5\r\nhello\r\n0\r\nServer-Timing: db;dur=53\r\nx-sum: 1\r\nX-Sum: 2\r\n\r\n`, true);
  assert.deepEqual(rec.trailers, ['Server-Timing', 'db;dur=53', 'x-sum', '1', 'X-Sum', '2']);
});
