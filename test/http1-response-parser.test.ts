/**
 * Unit tests for the upstream HTTP/1.1 response parser (lib/http1/response-parser.ts), driven the
 * way lib/http1/connection.ts drives it: `start(noBody)`, `execute(chunk)` per socket read (true
 * once the response is complete, `leftover` then counting the bytes after it), `finish()` on EOF,
 * `stop()` from inside a callback.
 *
 * Covers: Content-Length, chunked (extensions, hex case, trailers), no-body (HEAD, 204, 304) and
 * read-until-close framing; the same responses split at every byte position, byte by byte and at
 * seeded random points (with earlier reads scribbled over, as a socket may reuse its memory);
 * keep-alive and `Keep-Alive: timeout`; interim responses; the strictness rules (each violation a
 * `ParseError` with an `HPE_*` code); size limits of the head, the trailers and chunk-size lines;
 * field values and reason phrases; `finish()` at every stage; `stop()`; reuse of one parser.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HEAD_BYTES, ParseError, ResponseParser, type ResponseHandler, type ResponseHead } from '../lib/http1/response-parser.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

type Event =
  | { readonly kind: 'interim' }
  | { readonly kind: 'head'; readonly statusCode: number; readonly statusMessage: string; readonly rawHeaders: string[] }
  | { readonly kind: 'body'; readonly data: string; readonly last: boolean }
  | { readonly kind: 'complete'; readonly trailers: string[] | undefined };

type StopOn = 'interim' | 'head' | 'body' | undefined;

/** Records every callback in order; body bytes are copied (as latin1 text) when they arrive. */
class Recorder implements ResponseHandler {
  readonly events: Event[] = [];
  /** The Buffers given to onBody, as given (not copied). */
  readonly bodies: Buffer[] = [];
  parser: ResponseParser | undefined = undefined;
  stopOn: StopOn;

  constructor(stopOn: StopOn = undefined) {
    this.stopOn = stopOn;
  }

  onInterim(): void {
    this.events.push({ kind: 'interim' });
    if (this.stopOn === 'interim') this.parser!.stop();
  }

  onHead(head: ResponseHead): void {
    this.events.push({ kind: 'head', statusCode: head.statusCode, statusMessage: head.statusMessage, rawHeaders: [...head.rawHeaders] });
    if (this.stopOn === 'head') this.parser!.stop();
  }

  onBody(chunk: Buffer, last: boolean): void {
    this.bodies.push(chunk);
    this.events.push({ kind: 'body', data: chunk.toString('latin1'), last });
    if (this.stopOn === 'body') this.parser!.stop();
  }

  onComplete(trailers: string[] | undefined): void {
    this.events.push({ kind: 'complete', trailers: trailers === undefined ? undefined : [...trailers] });
  }
}

function setup(noBody = false, stopOn: StopOn = undefined): { parser: ResponseParser; rec: Recorder } {
  const rec = new Recorder(stopOn);
  const parser = new ResponseParser(rec);
  rec.parser = parser;
  parser.start(noBody);
  return { parser, rec };
}

/** Bytes of a string, one byte per character (latin1), so `\x80`-`\xff` stay single bytes. */
function b(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

function head(statusCode: number, statusMessage: string, rawHeaders: string[]): Event {
  return { kind: 'head', statusCode, statusMessage, rawHeaders };
}
function body(data: string, last: boolean): Event {
  return { kind: 'body', data, last };
}
function complete(trailers?: string[]): Event {
  return { kind: 'complete', trailers };
}
const INTERIM: Event = { kind: 'interim' };

interface Outcome {
  events: Event[];
  /** execute() returned true. */
  done: boolean;
  /** Bytes the response took from the stream: all bytes fed up to completion minus `leftover`. */
  consumed: number;
  leftover: number;
  parser: ResponseParser;
  rec: Recorder;
}

/**
 * Feeds reads to a fresh parser until one completes the response. With `scribble`, each read is a
 * fresh copy that is overwritten right after `execute()` returns, as a socket may reuse memory.
 * With `eof`, calls `finish()` after the last read when the response is not complete.
 */
function feed(chunks: readonly Buffer[], options: { noBody?: boolean; scribble?: boolean; eof?: boolean } = {}): Outcome {
  const { parser, rec } = setup(options.noBody ?? false);
  let fed = 0;
  for (const original of chunks) {
    const chunk = options.scribble ? Buffer.from(original) : original;
    const done = parser.execute(chunk);
    fed += chunk.length;
    if (options.scribble) chunk.fill(0x23); // '#'
    if (done) return { events: rec.events, done, consumed: fed - parser.leftover, leftover: parser.leftover, parser, rec };
  }
  if (options.eof) parser.finish();
  return { events: rec.events, done: false, consumed: fed, leftover: 0, parser, rec };
}

/** Merges consecutive body events, so responses delivered in different reads compare equal. */
function normalize(events: readonly Event[]): Event[] {
  const out: Event[] = [];
  for (const event of events) {
    const previous = out[out.length - 1];
    if (event.kind === 'body' && previous?.kind === 'body' && !previous.last) out[out.length - 1] = body(previous.data + event.data, event.last);
    else out.push(event);
  }
  return out;
}

/** Body pieces are never empty unless last; one `last` piece, right before `complete`, which ends it all. */
function assertWellFormed(events: readonly Event[], context = ''): void {
  let sawHead = false;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.kind === 'interim') assert.ok(!sawHead, `${context}: interim after the final head`);
    if (event.kind === 'head') {
      assert.ok(!sawHead, `${context}: two final heads`);
      sawHead = true;
    }
    if (event.kind === 'body') {
      assert.ok(sawHead, `${context}: body before the head`);
      if (!event.last) assert.ok(event.data.length > 0, `${context}: empty body piece that is not the last`);
      else assert.equal(events[i + 1]?.kind, 'complete', `${context}: last body piece not followed by complete`);
    }
    if (event.kind === 'complete') {
      const previous = events[i - 1];
      assert.ok(previous?.kind === 'body' && previous.last, `${context}: complete without a last body piece`);
      assert.equal(i, events.length - 1, `${context}: events after complete`);
    }
  }
}

function assertParseError(fn: () => unknown, code: string | RegExp, message?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ParseError, `expected a ParseError, got ${String(error)}`);
    assert.equal(error.name, 'ParseError');
    if (typeof code === 'string') assert.equal(error.code, code);
    else assert.match(error.code, code);
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  });
}

const HPE = /^HPE_[A-Z_]+$/;

/**
 * Feeds `bytes` to one parser in one read and to another byte by byte: both must refuse them,
 * with `code` and `splitCode`. Returns both, for assertions on what they called back.
 */
function refusedBothWays(bytes: Buffer, code: string | RegExp, splitCode: string | RegExp = code): Array<{ parser: ResponseParser; rec: Recorder }> {
  const whole = setup();
  assertParseError(() => whole.parser.execute(bytes), code);
  const split = setup();
  assertParseError(() => {
    for (const chunk of byteByByte(bytes)) assert.equal(split.parser.execute(chunk), false);
  }, splitCode);
  return [whole, split];
}

/** Deterministic PRNG (mulberry32), so a failing random split can be reproduced. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cut(bytes: Buffer, positions: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of positions) {
    chunks.push(bytes.subarray(from, at));
    from = at;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

function byteByByte(bytes: Buffer): Buffer[] {
  return cut(
    bytes,
    Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
  );
}

function pieces(bytes: Buffer, size: number): Buffer[] {
  const positions: number[] = [];
  for (let at = size; at < bytes.length; at += size) positions.push(at);
  return cut(bytes, positions);
}

/** Every way to deliver `bytes` this suite tries: byte by byte, every two-way split, random splits. */
function* splittings(bytes: Buffer, seed = 1): Generator<[name: string, chunks: Buffer[]]> {
  yield ['byte by byte', byteByByte(bytes)];
  for (let i = 1; i < bytes.length; i++) yield [`split at ${i}`, cut(bytes, [i])];
  const next = random(seed);
  for (let round = 0; round < 50; round++) {
    const count = 1 + Math.floor(next() * Math.min(12, bytes.length - 1));
    const positions = new Set<number>();
    while (positions.size < count) positions.add(1 + Math.floor(next() * (bytes.length - 1)));
    const sorted = [...positions].sort((x, y) => x - y);
    yield [`random split at ${sorted.join(',')}`, cut(bytes, sorted)];
  }
}

// ---------------------------------------------------------------------------------------------
// Any split gives the same result as one read
// ---------------------------------------------------------------------------------------------

/** Bytes that follow a response on the stream (the next response, say). */
const TAIL = 'HTTP/1.1 200 NEXT\r\n';

interface Sample {
  name: string;
  response: string;
  noBody?: boolean;
  /** The body ends with the connection: no TAIL, `finish()` after the last read. */
  untilClose?: boolean;
  expected: Event[];
  keepAlive: boolean;
  keepAliveTimeout?: number;
}

const CHUNKED_BODY =
  '5;name=value\r\nhello\r\n' +
  'A\r\n0123456789\r\n' +
  'b;x;y="q r"\r\nabcdefghijk\r\n' +
  '1C\r\n' +
  'x'.repeat(28) +
  '\r\n' +
  '0000f\r\n' +
  'y'.repeat(15) +
  '\r\n' +
  '0\r\nX-Checksum: abc\r\nX-Count: \t2 \r\n\r\n';

const SAMPLES: Sample[] = [
  {
    name: 'Content-Length body',
    response: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world',
    expected: [head(200, 'OK', ['Content-Type', 'text/plain', 'Content-Length', '11']), body('hello world', true), complete()],
    keepAlive: true,
  },
  {
    name: 'Content-Length: 0',
    response: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    expected: [head(200, 'OK', ['Content-Length', '0']), body('', true), complete()],
    keepAlive: true,
  },
  {
    name: 'chunked body with extensions, hex of both cases and trailers',
    response: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED_BODY}`,
    expected: [
      head(200, 'OK', ['Transfer-Encoding', 'chunked']),
      body(`hello0123456789abcdefghijk${'x'.repeat(28)}${'y'.repeat(15)}`, true),
      complete(['X-Checksum', 'abc', 'X-Count', '2']),
    ],
    keepAlive: true,
  },
  {
    name: 'chunked body without trailers, last chunk with an extension',
    response: 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5, max=100\r\n\r\n3\r\nabc\r\n0;final=yes\r\n\r\n',
    expected: [head(201, 'Created', ['Transfer-Encoding', 'chunked', 'Keep-Alive', 'timeout=5, max=100']), body('abc', true), complete()],
    keepAlive: true,
    keepAliveTimeout: 5,
  },
  {
    name: '204 with Content-Length: 10',
    response: 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n',
    expected: [head(204, 'No Content', ['Content-Length', '10']), body('', true), complete()],
    keepAlive: true,
  },
  {
    name: 'response to HEAD with Content-Length: 10',
    response: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n',
    noBody: true,
    expected: [head(200, 'OK', ['Content-Length', '10']), body('', true), complete()],
    keepAlive: true,
  },
  {
    name: 'interim responses before the final one',
    response: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    expected: [INTERIM, INTERIM, head(200, 'OK', ['Content-Length', '2']), body('ok', true), complete()],
    keepAlive: true,
  },
  {
    name: 'HTTP/1.0 keep-alive with an empty reason phrase',
    response: 'HTTP/1.0 200 \r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc',
    expected: [head(200, '', ['Connection', 'keep-alive', 'Content-Length', '3']), body('abc', true), complete()],
    keepAlive: true,
  },
  {
    name: 'body until close',
    response: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the connection ends',
    untilClose: true,
    expected: [head(200, 'OK', ['Content-Type', 'text/plain']), body('until the connection ends', true), complete()],
    keepAlive: false,
  },
];

for (const sample of SAMPLES) {
  test(`${sample.name}: one read, every two-way split, byte by byte and random splits agree`, () => {
    const response = b(sample.response);
    const stream = sample.untilClose ? response : Buffer.concat([response, b(TAIL)]);
    const options = { noBody: sample.noBody ?? false, eof: sample.untilClose ?? false };

    const reference = feed([stream], options);
    assertWellFormed(reference.events, 'one read');
    assert.deepEqual(normalize(reference.events), sample.expected);
    assert.equal(reference.done, !sample.untilClose);
    assert.equal(reference.consumed, response.length);
    if (!sample.untilClose) assert.equal(reference.leftover, TAIL.length);
    assert.equal(reference.parser.keepAlive, sample.keepAlive);
    assert.equal(reference.parser.keepAliveTimeout, sample.keepAliveTimeout ?? 0);
    assert.equal(reference.parser.busy, false);

    for (const [how, chunks] of splittings(stream, sample.response.length)) {
      const outcome = feed(chunks, { ...options, scribble: true });
      assertWellFormed(outcome.events, how);
      assert.deepEqual(normalize(outcome.events), sample.expected, how);
      assert.equal(outcome.done, reference.done, how);
      assert.equal(outcome.consumed, response.length, how);
      assert.equal(outcome.parser.keepAlive, sample.keepAlive, how);
      assert.equal(outcome.parser.keepAliveTimeout, sample.keepAliveTimeout ?? 0, how);
      assert.equal(outcome.parser.busy, false, how);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Content-Length
// ---------------------------------------------------------------------------------------------

test('Content-Length body in one read: head, the exact body as last, complete, no leftover', () => {
  const { parser, rec } = setup();
  assert.equal(parser.busy, true);
  assert.equal(parser.headReceived, false);
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello')), true);
  assert.deepEqual(rec.events, [head(200, 'OK', ['Content-Length', '5', 'X-A', '1']), body('hello', true), complete()]);
  assert.equal(parser.leftover, 0);
  assert.equal(parser.keepAlive, true);
  assert.equal(parser.busy, false);
  assert.equal(parser.headReceived, false);
});

test('onBody gets exactly the body bytes, as a slice of the read, not the bytes after it', () => {
  const { parser, rec } = setup();
  const chunk = b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204 No Content\r\n\r\n');
  assert.equal(parser.execute(chunk), true);
  assert.equal(rec.bodies.length, 1);
  const piece = rec.bodies[0]!;
  assert.equal(piece.length, 5);
  assert.equal(piece.toString('latin1'), 'hello');
  assert.equal(piece.buffer, chunk.buffer, 'not copied');
  assert.equal(piece.byteOffset, chunk.byteOffset + chunk.indexOf('hello'));
  assert.equal(parser.leftover, 'HTTP/1.1 204 No Content\r\n\r\n'.length);
});

test('a body over several reads arrives piecewise, with last only on the final piece', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab')), false);
  assert.equal(parser.headReceived, true);
  assert.equal(parser.busy, true);
  assert.equal(parser.execute(b('cdef')), false);
  assert.equal(parser.execute(Buffer.alloc(0)), false);
  assert.equal(parser.execute(b('ghijXYZ')), true);
  assert.equal(parser.leftover, 3);
  assert.deepEqual(rec.events, [head(200, 'OK', ['Content-Length', '10']), body('ab', false), body('cdef', false), body('ghij', true), complete()]);
});

test('a read that is all body is passed on whole', () => {
  const { parser, rec } = setup();
  parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n'));
  const middle = b('1234');
  assert.equal(parser.execute(middle), false);
  assert.equal(rec.bodies[0], middle);
  const end = b('5678');
  assert.equal(parser.execute(end), true);
  assert.equal(rec.bodies[1]!.toString(), '5678');
  assert.equal(parser.leftover, 0);
});

test('Content-Length: 0 and 000 complete at the head; leftover counts what follows', () => {
  for (const value of ['0', '000']) {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(`HTTP/1.1 200 OK\r\nContent-Length: ${value}\r\n\r\nextra`)), true, value);
    assert.equal(parser.leftover, 5, value);
    assert.deepEqual(rec.events, [head(200, 'OK', ['Content-Length', value]), body('', true), complete()], value);
  }
});

test('Content-Length value is trimmed and case of the name does not matter (a tab after it is refused: http1-parser-strictness)', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: \t 3  \r\n\r\nabcd')), true);
  assert.equal(parser.leftover, 1);
  assert.deepEqual(rec.events, [head(200, 'OK', ['cOnTeNt-LeNgTh', '3']), body('abc', true), complete()]);
});

test('leftover counts the bytes after the response in the read that completed it', () => {
  const response = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody';
  const extra = 'surplus bytes';
  const stream = b(response + extra);
  for (let i = 1; i < stream.length; i++) {
    const outcome = feed(cut(stream, [i]));
    assert.equal(outcome.done, true, `split at ${i}`);
    assert.equal(outcome.consumed, response.length, `split at ${i}`);
    // Completed by the first read when it holds the whole response, else by the second.
    assert.equal(outcome.leftover, i >= response.length ? i - response.length : extra.length, `split at ${i}`);
  }
});

test('a head split at every position, including inside the CRLF CRLF, waits and then parses', () => {
  const headText = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Long: some value here\r\n\r\n';
  const stream = b(`${headText}abc`);
  // Every split before the end of the head, the last four inside "\r\n\r\n".
  for (let i = 1; i < headText.length; i++) {
    const { parser, rec } = setup();
    assert.equal(parser.execute(stream.subarray(0, i)), false, `first part of split at ${i}`);
    assert.deepEqual(rec.events, [], `split at ${i}`);
    assert.equal(parser.headReceived, false, `split at ${i}`);
    assert.equal(parser.execute(stream.subarray(i)), true, `second part of split at ${i}`);
    assert.equal(parser.leftover, 0);
    assert.deepEqual(normalize(rec.events), [head(200, 'OK', ['Content-Length', '3', 'X-Long', 'some value here']), body('abc', true), complete()], `split at ${i}`);
  }
});

test('a head split over reads survives the caller reusing the first read\u2019s memory', () => {
  const { parser, rec } = setup();
  const first = b('HTTP/1.1 200 OK\r\nX-Name: value\r');
  assert.equal(parser.execute(first), false);
  first.fill(0);
  assert.equal(parser.execute(b('\n\r\n')), false);
  assert.deepEqual(rec.events, [head(200, 'OK', ['X-Name', 'value'])]);
});

test('after completion, further bytes are all leftover and call nothing', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')), true);
  const count = rec.events.length;
  assert.equal(parser.execute(b('unexpected')), true);
  assert.equal(parser.leftover, 10);
  assert.equal(rec.events.length, count);
});

// ---------------------------------------------------------------------------------------------
// Chunked
// ---------------------------------------------------------------------------------------------

test('chunked body: each chunk is a body piece, trailers come raw to onComplete', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED_BODY}`)), true);
  assert.equal(parser.leftover, 0);
  assert.deepEqual(rec.events, [
    head(200, 'OK', ['Transfer-Encoding', 'chunked']),
    body('hello', false),
    body('0123456789', false),
    body('abcdefghijk', false),
    body('x'.repeat(28), false),
    body('y'.repeat(15), false),
    body('', true),
    complete(['X-Checksum', 'abc', 'X-Count', '2']),
  ]);
});

test('chunked: hex sizes of both cases and 13 digits are read as hex', () => {
  for (const [size, length] of [
    ['a', 10],
    ['A', 10],
    ['1f', 31],
    ['1F', 31],
    ['0000000000010', 16], // 13 digits
  ] as const) {
    const data = 'z'.repeat(length);
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n${data}\r\n0\r\n\r\n`)), true, size);
    assert.deepEqual(normalize(rec.events).slice(1), [body(data, true), complete()], size);
  }
});

test('chunked: the largest 13-digit size is accepted (and the body is then cut short)', () => {
  const { parser } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFF\r\nabc')), false);
  assert.equal(parser.headReceived, true);
  assertParseError(() => parser.finish(), 'ECONNRESET', 'aborted');
});

test('chunked without trailers completes with undefined trailers; leftover after the final CRLF', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nHTTP/1.1')), true);
  assert.equal(parser.leftover, 8);
  assert.deepEqual(rec.events, [head(200, 'OK', ['Transfer-Encoding', 'chunked']), body('hi', false), body('', true), complete(undefined)]);
});

test('chunked with trailers: leftover after the trailer section; trailer values trimmed, names kept', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nServer-Timing: db;dur=53\r\nx-empty:\r\n\r\nabc')), true);
  assert.equal(parser.leftover, 3);
  assert.deepEqual(rec.events.at(-1), complete(['Server-Timing', 'db;dur=53', 'x-empty', '']));
});

test('chunked: Transfer-Encoding codings ending in chunked, of any case, mean chunked', () => {
  for (const value of ['chunked', 'Chunked', 'CHUNKED', 'gzip, chunked', 'gzip,chunked', 'deflate, gzip ,  chunked']) {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${value}\r\n\r\n1\r\nx\r\n0\r\n\r\n`)), true, value);
    assert.equal(parser.keepAlive, true, value);
    assert.deepEqual(normalize(rec.events).slice(1), [body('x', true), complete()], value);
  }
});

test('chunked: Transfer-Encoding over two field lines, chunked in the last', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n')), true);
  assert.deepEqual(normalize(rec.events).slice(1), [body('x', true), complete()]);
});

test('chunked: headReceived and busy through the body', () => {
  const { parser } = setup();
  const steps: Array<[string, boolean]> = [
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', false],
    ['3\r\n', false],
    ['ab', false],
    ['c\r\n', false],
    ['0\r\n', false],
    ['\r\n', true],
  ];
  for (const [bytes, done] of steps) {
    assert.equal(parser.execute(b(bytes)), done, JSON.stringify(bytes));
    assert.equal(parser.busy, !done);
    assert.equal(parser.headReceived, !done);
  }
});

test('chunked: chunk-size lines and trailers split over reads survive the reads being reused', () => {
  const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1a;ext=value\r\n' + 'q'.repeat(26) + '\r\n0\r\nX-T: done\r\n\r\n';
  for (const [how, chunks] of splittings(b(text), 7)) {
    const outcome = feed(chunks, { scribble: true });
    assert.equal(outcome.done, true, how);
    assert.deepEqual(normalize(outcome.events).slice(1), [body('q'.repeat(26), true), complete(['X-T', 'done'])], how);
  }
});

test('chunked: a chunk-size line of exactly 16 KiB is accepted in one read and split', () => {
  const line = `5;${'e'.repeat(16 * 1024 - 3)}\r`; // with its CR, 16384 bytes before the LF
  assert.equal(line.length, 16 * 1024);
  const text = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${line}\nhello\r\n0\r\n\r\n`;
  for (const chunks of [[b(text)], pieces(b(text), 1000), cut(b(text), [text.indexOf(line) + line.length])]) {
    const outcome = feed(chunks);
    assert.equal(outcome.done, true);
    assert.deepEqual(normalize(outcome.events).slice(1), [body('hello', true), complete()]);
  }
});

const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';

const CHUNKED_ERRORS: Array<[what: string, body: string, code: string]> = [
  ['no CRLF after chunk data', '5\r\nhelloX\r\n0\r\n\r\n', 'HPE_STRICT'],
  ['CR without LF after chunk data', '5\r\nhello\rX0\r\n\r\n', 'HPE_STRICT'],
  ['bare LF after chunk data', '5\r\nhello\n0\r\n\r\n', 'HPE_STRICT'],
  ['chunk data longer than its size', '3\r\nhello\r\n0\r\n\r\n', 'HPE_STRICT'],
  ['bare LF after the chunk size', '5\nhello\r\n0\r\n\r\n', 'HPE_STRICT'],
  ['bare LF after the last chunk size', '0\n\r\n', 'HPE_STRICT'],
  ['a chunk-size line that is a bare LF', '\nhello\r\n0\r\n\r\n', 'HPE_STRICT'],
  ['an empty chunk-size line', '\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['an extension with no size', ';ext\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['an invalid hex digit', 'g\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a hex digit after an invalid one', '5x\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a 0x prefix', '0x5\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a sign', '+5\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a space before the size', ' 5\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a space after the size', '5 \r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['an extension without its semicolon', '5 ext\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a size of 14 hex digits', '10000000000000\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a size of 16 hex digits', 'FFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a control character in an extension', '5;name=va\x01lue\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['NUL in an extension', '5;\x00\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['DEL in an extension', '5;a=\x7f\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a bare CR in an extension', '5;a\rb\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a bare CR after the size', '5\r;a\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
  ['a trailer line without a colon', '0\r\nX-Trailer\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['a trailer with a space before the colon', '0\r\nX-Trailer : v\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['an obs-folded trailer', '0\r\nX-Trailer: v\r\n folded\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['a control character in a trailer value', '0\r\nX-Trailer: a\x01b\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['a bare LF in the trailers', '0\r\nX-A: 1\nX-B: 2\r\n\r\n', 'HPE_LF_EXPECTED'],
  ['a bare CR in the trailers', '0\r\nX-A: 1\rX-B: 2\r\n\r\n', 'HPE_LF_EXPECTED'],
];

for (const [what, chunkedBody, code] of CHUNKED_ERRORS) {
  test(`chunked error, in one read and byte by byte: ${what}`, () => {
    for (const { rec } of refusedBothWays(b(CHUNKED_HEAD + chunkedBody), code)) {
      assert.ok(!rec.events.some((event) => event.kind === 'complete'), 'never completes');
      assert.ok(!rec.events.some((event) => event.kind === 'body' && event.last), 'no last body piece');
    }
  });
}

test('chunked error: a chunk-size line over 16 KiB, in one read and accumulated over many', () => {
  const text = `${CHUNKED_HEAD}5;${'e'.repeat(16 * 1024)}\r\nhello\r\n0\r\n\r\n`;
  assertParseError(() => setup().parser.execute(b(text)), 'HPE_CHUNK_EXTENSIONS_OVERFLOW');
  const longer = `${CHUNKED_HEAD}5;${'e'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`;
  const { parser } = setup();
  let reads = 0;
  assertParseError(() => {
    for (const chunk of pieces(b(longer), 100)) {
      reads++;
      assert.equal(parser.execute(chunk), false);
    }
  }, 'HPE_CHUNK_EXTENSIONS_OVERFLOW');
  assert.ok(reads * 100 < longer.indexOf('\r\nhello'), 'refused before the line ended');
  // Without any LF at all: refused once the line passes the limit.
  const endless = setup();
  assert.equal(endless.parser.execute(b(`${CHUNKED_HEAD}5;`)), false);
  let more = 0;
  assertParseError(() => {
    for (; more < 1000; more++) assert.equal(endless.parser.execute(b('e'.repeat(100))), false);
  }, 'HPE_CHUNK_EXTENSIONS_OVERFLOW');
  assert.equal(more, Math.floor((16 * 1024 - 2) / 100), 'refused on the read that passes 16 KiB');
});

// ---------------------------------------------------------------------------------------------
// Responses without a body
// ---------------------------------------------------------------------------------------------

const NO_BODY: Array<[what: string, response: string, noBody: boolean]> = [
  ['HEAD with Content-Length: 10', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', true],
  ['HEAD with Transfer-Encoding: chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', true],
  ['204 with Content-Length: 10', 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n', false],
  ['204 with Transfer-Encoding: chunked', 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n', false],
  ['204 with no framing', 'HTTP/1.1 204 No Content\r\n\r\n', false],
  ['304 with Content-Length: 10', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', false],
  ['304 with no framing', 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n', false],
];

for (const [what, response, noBody] of NO_BODY) {
  test(`no body: ${what} completes at the head; what follows is leftover`, () => {
    const { parser, rec } = setup(noBody);
    assert.equal(parser.execute(b(`${response}0123456789`)), true);
    assert.equal(parser.leftover, 10);
    assert.equal(rec.events.length, 3);
    assert.equal(rec.events[0]!.kind, 'head');
    assert.deepEqual(rec.events.slice(1), [body('', true), complete()]);
    assert.equal(parser.keepAlive, true, 'HTTP/1.1 with the body framed by the request');
    assert.equal(parser.busy, false);

    const exact = setup(noBody);
    assert.equal(exact.parser.execute(b(response)), true);
    assert.equal(exact.parser.leftover, 0);
  });
}

test('no body: a GET response with Content-Length: 10 does wait for the body (start(false))', () => {
  const { parser } = setup(false);
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n')), false);
  assert.equal(parser.headReceived, true);
});

// ---------------------------------------------------------------------------------------------
// Body until the connection closes
// ---------------------------------------------------------------------------------------------

test('until close: no Content-Length or Transfer-Encoding reads the body until finish()', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nfirst ')), false);
  assert.equal(parser.keepAlive, false);
  assert.equal(parser.headReceived, true);
  const second = b('second ');
  assert.equal(parser.execute(second), false);
  assert.equal(rec.bodies.at(-1), second, 'a whole read is passed on as is');
  assert.equal(parser.execute(Buffer.alloc(0)), false);
  assert.equal(parser.execute(b('third')), false);
  assert.equal(parser.busy, true);
  parser.finish();
  assert.equal(parser.busy, false);
  assert.deepEqual(rec.events, [head(200, 'OK', ['X-A', '1']), body('first ', false), body('second ', false), body('third', false), body('', true), complete(undefined)]);
});

test('until close: an empty body ends at finish()', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\n\r\n')), false);
  parser.finish();
  assert.deepEqual(rec.events, [head(200, 'OK', []), body('', true), complete()]);
});

test('until close: a Transfer-Encoding not ending in chunked, even with keep-alive asked', () => {
  for (const value of ['gzip', 'identity', 'chunked-ish', 'gzip, deflate']) {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(`HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: ${value}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`)), false, value);
    assert.equal(parser.keepAlive, false, value);
    parser.finish();
    assert.deepEqual(normalize(rec.events).slice(1), [body('5\r\nhello\r\n0\r\n\r\n', true), complete()], value);
  }
});

test('until close: HTTP/1.0 keep-alive without framing still ends with the connection', () => {
  const { parser } = setup();
  assert.equal(parser.execute(b('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nabc')), false);
  assert.equal(parser.keepAlive, false);
});

// ---------------------------------------------------------------------------------------------
// keep-alive
// ---------------------------------------------------------------------------------------------

const KEEP_ALIVE: Array<[what: string, response: string, keepAlive: boolean, timeout: number]> = [
  ['HTTP/1.1 by default', 'HTTP/1.1 200 OK\r\nContent-Length: 0', true, 0],
  ['HTTP/1.1 with Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0', false, 0],
  ['HTTP/1.1 with Connection: CLOSE', 'HTTP/1.1 200 OK\r\nconnection: CLOSE\r\nContent-Length: 0', false, 0],
  ['HTTP/1.1 with close in a list', 'HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0', false, 0],
  ['HTTP/1.1 with close on a second Connection line', 'HTTP/1.1 200 OK\r\nConnection: upgrade\r\nConnection: close\r\nContent-Length: 0', false, 0],
  ['HTTP/1.1 with Connection: keep-alive', 'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0', true, 0],
  ['HTTP/1.1 with a token only containing close', 'HTTP/1.1 200 OK\r\nConnection: closed, x-close\r\nContent-Length: 0', true, 0],
  ['HTTP/1.0 by default', 'HTTP/1.0 200 OK\r\nContent-Length: 0', false, 0],
  ['HTTP/1.0 with Connection: keep-alive', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0', true, 0],
  ['HTTP/1.0 with Connection: Keep-Alive', 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0', true, 0],
  ['HTTP/1.0 with keep-alive and close', 'HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0', false, 0],
  ['Keep-Alive: timeout=5, max=100', 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0', true, 5],
  ['Keep-Alive: max=100, timeout=7', 'HTTP/1.1 200 OK\r\nKeep-Alive: max=100, timeout=7\r\nContent-Length: 0', true, 7],
  ['Keep-Alive: Timeout=9 (any case)', 'HTTP/1.1 200 OK\r\nkeep-alive: Timeout=9\r\nContent-Length: 0', true, 9],
  ['Keep-Alive without timeout', 'HTTP/1.1 200 OK\r\nKeep-Alive: max=100\r\nContent-Length: 0', true, 0],
  ['Keep-Alive: xtimeout=5 is not a timeout', 'HTTP/1.1 200 OK\r\nKeep-Alive: xtimeout=5\r\nContent-Length: 0', true, 0],
  ['HTTP/1.0 keep-alive with its timeout', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=15\r\nContent-Length: 0', true, 15],
  ['Keep-Alive timeout with Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nKeep-Alive: timeout=5\r\nContent-Length: 0', false, 5],
  ['no framing (until close)', 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5', false, 5],
];

for (const [what, response, keepAlive, timeout] of KEEP_ALIVE) {
  test(`keep-alive: ${what}`, () => {
    const { parser, rec } = setup();
    parser.execute(b(`${response}\r\n\r\n`));
    assert.equal(rec.events[0]?.kind, 'head');
    assert.equal(parser.keepAlive, keepAlive);
    assert.equal(parser.keepAliveTimeout, timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// Interim responses
// ---------------------------------------------------------------------------------------------

for (const interim of ['100 Continue', '102 Processing', '103 Early Hints\r\nLink: </style.css>; rel=preload', '199 Whatever']) {
  test(`interim ${interim.slice(0, 3)}: onInterim, then the final response in the same read`, () => {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(`HTTP/1.1 ${interim}\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`)), true);
    assert.equal(parser.leftover, 0);
    assert.deepEqual(rec.events, [INTERIM, head(200, 'OK', ['Content-Length', '2']), body('ok', true), complete()]);
  });
}

test('interim: parsing stays in the head until the final response, across reads', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 100 Continue\r\n\r\n')), false);
  assert.deepEqual(rec.events, [INTERIM]);
  assert.equal(parser.headReceived, false);
  assert.equal(parser.busy, true);
  assert.equal(parser.execute(b('HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 2')), false);
  assert.deepEqual(rec.events, [INTERIM, INTERIM]);
  assert.equal(parser.execute(b('04 No Content\r\n\r\n')), true);
  assert.deepEqual(rec.events, [INTERIM, INTERIM, head(204, 'No Content', []), body('', true), complete()]);
});

test('interim: fields of an interim response do not count for the final one (but Connection: close does: http1-parser-strictness)', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nKeep-Alive: timeout=3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')), true);
  assert.equal(parser.keepAlive, true);
  assert.equal(parser.keepAliveTimeout, 0);
  assert.deepEqual(rec.events[1], head(200, 'OK', ['Content-Length', '0']));
});

test('interim: a HEAD request sees interim responses too', () => {
  const { parser, rec } = setup(true);
  assert.equal(parser.execute(b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n')), true);
  assert.deepEqual(rec.events, [INTERIM, head(200, 'OK', ['Content-Length', '9']), body('', true), complete()]);
});

test('interim: a malformed interim head is an error like any head', () => {
  assertParseError(() => setup().parser.execute(b('HTTP/1.1 103 Early Hints\r\nLink : x\r\n\r\n')), 'HPE_INVALID_HEADER_TOKEN');
});

test('101 Switching Protocols throws HPE_UNEXPECTED_UPGRADE, without calling onInterim or onHead', () => {
  for (const text of ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n']) {
    const { parser, rec } = setup();
    assertParseError(() => parser.execute(b(text)), 'HPE_UNEXPECTED_UPGRADE');
    assert.ok(!rec.events.some((event) => event.kind === 'head'));
  }
});

// ---------------------------------------------------------------------------------------------
// Strictness of the head
// ---------------------------------------------------------------------------------------------

const BAD_HEADS: Array<[what: string, head: string, code: string]> = [
  ['a garbage status line', 'GARBAGE\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['an empty head', '\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['a non-numeric status code', 'HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['a two-digit status code', 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['a four-digit status code', 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['a missing status code', 'HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['HTTP/2.0', 'HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['HTTP/1.2', 'HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['a lower-case protocol name', 'http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['two spaces before the status code', 'HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['a tab before the status code', 'HTTP/1.1\t200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['a leading empty line', '\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['a control character in the reason phrase', 'HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['DEL in the reason phrase', 'HTTP/1.1 200 OK\x7f\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['bare LF line endings', 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', 'HPE_LF_EXPECTED'],
  ['a bare LF between two fields', 'HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\n\r\n', 'HPE_LF_EXPECTED'],
  ['a bare LF ending the status line', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', 'HPE_LF_EXPECTED'],
  ['a bare CR inside a value', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n', 'HPE_LF_EXPECTED'],
  ['a bare CR at the end of a value', 'HTTP/1.1 200 OK\r\nX-A: ab\r\r\nContent-Length: 0\r\n\r\n', 'HPE_LF_EXPECTED'],
  ['a bare CR in the reason phrase', 'HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n', 'HPE_LF_EXPECTED'],
  ['obs-fold with a space', 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['obs-fold with a tab', 'HTTP/1.1 200 OK\r\nX-A: a\r\n\tb\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['a tab before the colon', 'HTTP/1.1 200 OK\r\nContent-Length\t: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['an empty field name', 'HTTP/1.1 200 OK\r\n: value\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['a field line without a colon', 'HTTP/1.1 200 OK\r\nX-No-Colon\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['a separator in a field name', 'HTTP/1.1 200 OK\r\nX(A): 1\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['obs-text in a field name', 'HTTP/1.1 200 OK\r\nX-\xe9: 1\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['NUL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['a control character in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['ESC in a value', 'HTTP/1.1 200 OK\r\nX-A: \x1b[31m\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['DEL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['a vertical tab in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x0bb\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['duplicate Content-Length with equal values', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['duplicate Content-Length with different values', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\nhello', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['Content-Length as a list', 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['a non-numeric Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['a signed Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['a hex Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['a fractional Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5.0\r\n\r\nhello', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['an empty Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['a Content-Length with inner space', 'HTTP/1.1 200 OK\r\nContent-Length: 1 0\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['a 16-digit Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['Transfer-Encoding with Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['Content-Length with a non-chunked Transfer-Encoding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['Content-Length with Transfer-Encoding on a 204', 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
  ['Transfer-Encoding: chunked, gzip', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING'],
  ['Transfer-Encoding: chunked, chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING'],
  ['Transfer-Encoding chunked then gzip on two lines', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING'],
  ['Transfer-Encoding chunked on two lines', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING'],
  ['a Transfer-Encoding that is not a token', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chun ked\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING'],
  ['a Transfer-Encoding with parameters', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING'],
];

for (const [what, text, code] of BAD_HEADS) {
  test(`strict head: ${what} is ${code}, in one read; an HPE_ error byte by byte`, () => {
    for (const { rec } of refusedBothWays(b(text), code, HPE)) assert.deepEqual(rec.events, [], 'no callback');
  });
}

test('strict head: garbage is refused before the head is complete', () => {
  for (const text of ['GARBAGE', 'X', 'HTTP/1.1 2OO', 'HTTP/2.0 200', 'HTTP/1.3', 'HTTX', 'HTTP/1.1 200OK', 'HTTP/1.1 2000']) {
    const { parser, rec } = setup();
    assertParseError(() => parser.execute(b(text)), HPE);
    assert.deepEqual(rec.events, [], text);
  }
  // The same bytes arriving one by one are refused as soon as they cannot start a status line.
  const { parser } = setup();
  let fed = 0;
  assertParseError(() => {
    for (const chunk of byteByByte(b('HTTP/1.1 2OO OK\r\n'))) {
      parser.execute(chunk);
      fed++;
    }
  }, HPE);
  assert.equal(fed, 'HTTP/1.1 2'.length, 'refused at the first O');
});

test('strict head: a garbage status line with its CRLF is refused before the head ends', () => {
  assertParseError(() => setup().parser.execute(b('HTTP/1.1 20 OK\r\nContent-Le')), HPE);
});

test('strict head: a bare LF is refused before the head is complete', () => {
  for (const text of ['HTTP/1.1 200 OK\n', 'HTTP/1.1 200 OK\r\nX-A: 1\nX', 'HTTP/1.1 200 OK\r\nX-A: 1\rX']) {
    assertParseError(() => setup().parser.execute(b(text)), 'HPE_LF_EXPECTED');
  }
});

test('strict head: valid prefixes of a status line are kept, not refused', () => {
  const full = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r';
  for (let i = 1; i <= full.length; i++) {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(full.slice(0, i))), false, JSON.stringify(full.slice(0, i)));
    assert.deepEqual(rec.events, []);
  }
});

// ---------------------------------------------------------------------------------------------
// Size limits of the head and the trailers
// ---------------------------------------------------------------------------------------------

/** A head whose bytes before the final CRLF CRLF number exactly `length`. */
function headOfLength(length: number, first = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: '): string {
  return first + 'p'.repeat(length - first.length);
}

test('head limit: a head of exactly MAX_HEAD_BYTES in one read is accepted, one byte more is HPE_HEADER_OVERFLOW', () => {
  assert.equal(MAX_HEAD_BYTES, 16 * 1024);
  const { parser, rec } = setup();
  assert.equal(parser.execute(b(`${headOfLength(MAX_HEAD_BYTES)}\r\n\r\n`)), true);
  assert.equal(rec.events[0]?.kind, 'head');
  assertParseError(() => setup().parser.execute(b(`${headOfLength(MAX_HEAD_BYTES + 1)}\r\n\r\n`)), 'HPE_HEADER_OVERFLOW');
});

test('head limit: a head over 16 KiB in one read without its end is HPE_HEADER_OVERFLOW at once', () => {
  assertParseError(() => setup().parser.execute(b(headOfLength(MAX_HEAD_BYTES + 1))), 'HPE_HEADER_OVERFLOW');
});

test('head limit: a head accumulated over many small reads is HPE_HEADER_OVERFLOW once past 16 KiB', () => {
  const text = `${headOfLength(20_000)}\r\n\r\n`;
  const { parser, rec } = setup();
  let fed = 0;
  assertParseError(() => {
    for (const chunk of pieces(b(text), 97)) {
      assert.equal(parser.execute(chunk), false);
      fed += chunk.length;
    }
  }, 'HPE_HEADER_OVERFLOW');
  assert.ok(fed <= MAX_HEAD_BYTES, `refused as soon as past the limit (after ${fed} bytes)`);
  assert.deepEqual(rec.events, []);
});

test('head limit: the limit is per response, not for all interim heads together', () => {
  const interim = `${headOfLength(10_000, 'HTTP/1.1 103 Early Hints\r\nX-Pad: ')}\r\n\r\n`;
  const final = `${headOfLength(10_000)}\r\n\r\n`;
  const { parser, rec } = setup();
  assert.equal(parser.execute(b(interim + final)), true);
  assert.deepEqual(
    rec.events.map((event) => event.kind),
    ['interim', 'head', 'body', 'complete'],
  );
});

test('head limit: a head of exactly MAX_HEAD_BYTES is accepted however its end is split (regression)', () => {
  // In one read, the limit counts the bytes before CRLF CRLF; a head kept across reads is
  // counted with the part of CRLF CRLF already received, so 1-3 bytes under the limit.
  const text = `${headOfLength(MAX_HEAD_BYTES)}\r\n\r\n`;
  for (const at of [MAX_HEAD_BYTES, MAX_HEAD_BYTES + 1, MAX_HEAD_BYTES + 2, MAX_HEAD_BYTES + 3]) {
    const { parser, rec } = setup();
    let done = false;
    assert.doesNotThrow(() => {
      done = parser.execute(b(text.slice(0, at))) || parser.execute(b(text.slice(at)));
    }, `split at ${at}`);
    assert.equal(done, true, `split at ${at}`);
    assert.equal(rec.events[0]?.kind, 'head', `split at ${at}`);
  }
});

const TRAILER_START = `${CHUNKED_HEAD}0\r\n`;

test('trailer limit: a trailer section over 16 KiB is HPE_HEADER_OVERFLOW, in one read and accumulated', () => {
  const text = `${TRAILER_START}X-Pad: ${'t'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
  assertParseError(() => setup().parser.execute(b(text)), 'HPE_HEADER_OVERFLOW');
  const { parser, rec } = setup();
  let fed = 0;
  assertParseError(() => {
    for (const chunk of pieces(b(text), 101)) {
      assert.equal(parser.execute(chunk), false);
      fed += chunk.length;
    }
  }, 'HPE_HEADER_OVERFLOW');
  assert.ok(fed < text.length);
  assert.ok(!rec.events.some((event) => event.kind === 'complete'));
  // Without its end at all, in one read.
  assertParseError(() => setup().parser.execute(b(`${TRAILER_START}X-Pad: ${'t'.repeat(MAX_HEAD_BYTES)}`)), 'HPE_HEADER_OVERFLOW');
});

test('trailer limit: a trailer section of exactly MAX_HEAD_BYTES in one read is accepted', () => {
  const trailers = `X-Pad: ${'t'.repeat(MAX_HEAD_BYTES - 'X-Pad: '.length)}`;
  const { parser, rec } = setup();
  assert.equal(parser.execute(b(`${TRAILER_START}${trailers}\r\n\r\n`)), true);
  assert.deepEqual(rec.events.at(-1), complete(['X-Pad', trailers.slice('X-Pad: '.length)]));
});

test('trailer limit: a trailer section of exactly MAX_HEAD_BYTES is accepted however its end is split (regression)', () => {
  const trailers = `X-Pad: ${'t'.repeat(MAX_HEAD_BYTES - 'X-Pad: '.length)}`;
  const text = `${TRAILER_START}${trailers}\r\n\r\n`;
  const end = TRAILER_START.length + MAX_HEAD_BYTES;
  for (const at of [end, end + 1, end + 2, end + 3]) {
    const { parser, rec } = setup();
    let done = false;
    assert.doesNotThrow(() => {
      done = parser.execute(b(text.slice(0, at))) || parser.execute(b(text.slice(at)));
    }, `split at ${at}`);
    assert.equal(done, true, `split at ${at}`);
    assert.equal(rec.events.at(-1)?.kind, 'complete', `split at ${at}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Field values and the reason phrase
// ---------------------------------------------------------------------------------------------

test('values: spaces and tabs around a value are trimmed, inner ones kept', () => {
  const { parser, rec } = setup();
  parser.execute(b('HTTP/1.1 200 OK\r\nX-A:  \t a \t b  \t\r\nX-B:no-space\r\nX-C:\r\nX-D: \t \r\nContent-Length: 0\r\n\r\n'));
  assert.deepEqual(rec.events[0], head(200, 'OK', ['X-A', 'a \t b', 'X-B', 'no-space', 'X-C', '', 'X-D', '', 'Content-Length', '0']));
});

test('values: obs-text bytes 0x80-0xff are kept as latin1 characters', () => {
  const { parser, rec } = setup();
  parser.execute(b('HTTP/1.1 200 Caf\xe9\r\nX-Name: caf\xe9 \x80\xff\r\nContent-Length: 0\r\n\r\n'));
  const event = rec.events[0]!;
  assert.equal(event.kind, 'head');
  if (event.kind !== 'head') return;
  assert.equal(event.statusMessage, 'Caf\u00e9');
  const value = event.rawHeaders[1]!;
  assert.equal(value, 'caf\u00e9 \u0080\u00ff');
  assert.deepEqual([...value].map((c) => c.charCodeAt(0)), [0x63, 0x61, 0x66, 0xe9, 0x20, 0x80, 0xff]);
});

test('values: names keep their case, fields keep their order and repeats; colons in values are kept', () => {
  const { parser, rec } = setup();
  parser.execute(b('HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-URL: http://x:80/a\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n'));
  assert.deepEqual(rec.events[0], head(200, 'OK', ['Set-Cookie', 'a=1', 'X-URL', 'http://x:80/a', 'set-cookie', 'b=2', 'Content-Length', '0']));
});

test('values: every token character is allowed in a field name', () => {
  const name = "!#$%&'*+-.^_`|~09AZaz";
  const { parser, rec } = setup();
  parser.execute(b(`HTTP/1.1 200 OK\r\n${name}: v\r\nContent-Length: 0\r\n\r\n`));
  assert.deepEqual(rec.events[0], head(200, 'OK', [name, 'v', 'Content-Length', '0']));
});

test('values: a head with no fields at all', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 204 No Content\r\n\r\n')), true);
  assert.deepEqual(rec.events[0], head(204, 'No Content', []));
});

const REASONS: Array<[statusLine: string, statusCode: number, statusMessage: string]> = [
  ['HTTP/1.1 200 OK', 200, 'OK'],
  ['HTTP/1.1 404 Not Found', 404, 'Not Found'],
  ['HTTP/1.1 200 ', 200, ''],
  ['HTTP/1.1 200', 200, ''],
  ['HTTP/1.0 500 Internal\tServer  Error ', 500, 'Internal\tServer  Error '],
  ['HTTP/1.1 200  OK', 200, ' OK'],
  ['HTTP/1.1 599 Custom', 599, 'Custom'],
  ['HTTP/1.1 299 \xe9t\xe9', 299, '\u00e9t\u00e9'],
];

for (const [statusLine, statusCode, statusMessage] of REASONS) {
  test(`status line ${JSON.stringify(statusLine)}: status ${statusCode}, reason ${JSON.stringify(statusMessage)}`, () => {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(`${statusLine}\r\nContent-Length: 0\r\n\r\n`)), true);
    assert.deepEqual(rec.events[0], head(statusCode, statusMessage, ['Content-Length', '0']));
  });
}

test('status line without a reason phrase is accepted however the head is split (regression)', () => {
  // Split right after the status line's CR, the kept bytes "HTTP/1.1 204\r" are taken for garbage.
  const text = 'HTTP/1.1 204\r\nX-A: 1\r\n\r\n';
  for (let i = 1; i < text.length; i++) {
    const { parser, rec } = setup();
    let done = false;
    assert.doesNotThrow(() => {
      done = parser.execute(b(text.slice(0, i))) || parser.execute(b(text.slice(i)));
    }, `split at ${i} (${JSON.stringify(text.slice(0, i))})`);
    assert.equal(done, true, `split at ${i}`);
    assert.deepEqual(rec.events[0], head(204, '', ['X-A', '1']), `split at ${i}`);
  }
});

// ---------------------------------------------------------------------------------------------
// finish(): the connection ended
// ---------------------------------------------------------------------------------------------

test('finish() before any byte: ECONNRESET "socket hang up"', () => {
  const { parser, rec } = setup();
  assertParseError(() => parser.finish(), 'ECONNRESET', 'socket hang up');
  assert.equal(parser.busy, false);
  assert.deepEqual(rec.events, []);
});

test('finish() after an empty read: ECONNRESET "socket hang up"', () => {
  const { parser } = setup();
  assert.equal(parser.execute(Buffer.alloc(0)), false);
  assertParseError(() => parser.finish(), 'ECONNRESET', 'socket hang up');
});

test('finish() mid-head after a valid prefix: ECONNRESET "socket hang up"', () => {
  for (const prefix of ['H', 'HTTP/1.', 'HTTP/1.1', 'HTTP/1.1 ', 'HTTP/1.1 2', 'HTTP/1.1 200', 'HTTP/1.1 200 O', 'HTTP/1.1 200 OK\r', 'HTTP/1.1 200 OK\r\nContent-Le', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r']) {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(prefix)), false, JSON.stringify(prefix));
    assertParseError(() => parser.finish(), 'ECONNRESET', 'socket hang up');
    assert.equal(parser.busy, false);
    assert.deepEqual(rec.events, []);
  }
});

test('finish() after only an interim response: ECONNRESET "socket hang up"', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 100 Continue\r\n\r\n')), false);
  assertParseError(() => parser.finish(), 'ECONNRESET', 'socket hang up');
  assert.deepEqual(rec.events, [INTERIM]);
});

test('finish() mid-head after garbage: an HPE_ error, by finish() at the latest', () => {
  // The early check sees at most the first 64 bytes of a status line; the rest shows at EOF.
  for (const text of ['GARBAGE', 'HTTP/3', `HTTP/1.1 20 ${'x'.repeat(80)}\r\nX-A: 1`]) {
    const { parser } = setup();
    assertParseError(() => {
      parser.execute(b(text));
      parser.finish();
    }, HPE);
  }
});

test('finish() mid-head after bytes that cannot start a status line: an HPE_ error, not a hang-up (regression)', () => {
  // Each is refused by Node's own parser at once (HPE_INVALID_STATUS / HPE_INVALID_CONSTANT).
  const codes = ['HTTP/1.1 20 OK', 'HTTP/1.1  200 OK', '\r\nGARBAGE'].map((text): [string, string] => {
    const { parser } = setup();
    try {
      parser.execute(b(text));
      parser.finish();
    } catch (error) {
      assert.ok(error instanceof ParseError);
      return [text, error.code];
    }
    return [text, 'no error'];
  });
  assert.deepEqual(
    codes.filter(([, code]) => !HPE.test(code)),
    [],
    'inputs that did not give an HPE_ error',
  );
});

test('finish() mid Content-Length body: ECONNRESET "aborted", with or without body bytes', () => {
  for (const text of ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcde']) {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(text)), false);
    assertParseError(() => parser.finish(), 'ECONNRESET', 'aborted');
    assert.equal(parser.busy, false);
    assert.ok(!rec.events.some((event) => event.kind === 'complete' || (event.kind === 'body' && event.last)));
  }
});

test('finish() mid chunked body, at every stage: ECONNRESET "aborted"', () => {
  const full = `${CHUNKED_HEAD}5;e=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n`;
  for (let at = CHUNKED_HEAD.length; at < full.length; at++) {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(full.slice(0, at))), false, `cut at ${at}`);
    assertParseError(() => parser.finish(), 'ECONNRESET', 'aborted');
    assert.ok(!rec.events.some((event) => event.kind === 'complete'), `cut at ${at}`);
  }
});

test('finish() completes a body delimited by the close (and only that)', () => {
  const { parser, rec } = setup();
  parser.execute(b('HTTP/1.0 200 OK\r\n\r\nabc'));
  parser.finish();
  assert.deepEqual(rec.events.slice(-2), [body('', true), complete(undefined)]);
});

// ---------------------------------------------------------------------------------------------
// stop()
// ---------------------------------------------------------------------------------------------

test('stop() in onHead: execute returns false and the body in the same read is not delivered', () => {
  const { parser, rec } = setup(false, 'head');
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')), false);
  assert.deepEqual(rec.events, [head(200, 'OK', ['Content-Length', '5'])]);
  assert.equal(parser.execute(b('more bytes')), false);
  assert.equal(rec.events.length, 1);
});

test('stop() in onHead of a response without a body: no onBody, no onComplete', () => {
  for (const [text, noBody] of [
    ['HTTP/1.1 204 No Content\r\n\r\n', false],
    ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', false],
    ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', true],
  ] as const) {
    const { parser, rec } = setup(noBody, 'head');
    assert.equal(parser.execute(b(text)), false, text);
    assert.equal(rec.events.length, 1, text);
    assert.equal(rec.events[0]!.kind, 'head');
  }
});

test('stop() in onHead of a chunked response: no chunk is delivered', () => {
  const { parser, rec } = setup(false, 'head');
  assert.equal(parser.execute(b(`${CHUNKED_HEAD}3\r\nabc\r\n0\r\n\r\n`)), false);
  assert.equal(rec.events.length, 1);
});

test('stop() in onInterim: execute returns false, the final response is not parsed', () => {
  const { parser, rec } = setup(false, 'interim');
  assert.equal(parser.execute(b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')), false);
  assert.deepEqual(rec.events, [INTERIM]);
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')), false);
  assert.deepEqual(rec.events, [INTERIM]);
});

test('stop() in onBody: the rest of the read is not delivered', () => {
  const { parser, rec } = setup(false, 'body');
  assert.equal(parser.execute(b(`${CHUNKED_HEAD}3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n`)), false);
  assert.deepEqual(rec.events.slice(1), [body('abc', false)]);
});

test('start() after stop() parses again', () => {
  const { parser, rec } = setup(false, 'head');
  parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel'));
  rec.stopOn = undefined;
  rec.events.length = 0;
  parser.start(false);
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')), true);
  assert.deepEqual(rec.events, [head(200, 'OK', ['Content-Length', '2']), body('ok', true), complete()]);
});

// ---------------------------------------------------------------------------------------------
// Reuse of one parser
// ---------------------------------------------------------------------------------------------

test('reuse: start() again after a complete response parses the next one on the same instance', () => {
  const { parser, rec } = setup();
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok')), true);
  assert.equal(parser.keepAliveTimeout, 5);
  parser.start(false);
  assert.equal(parser.busy, true);
  assert.equal(parser.keepAlive, false, 'reset by start()');
  assert.equal(parser.keepAliveTimeout, 0, 'reset by start()');
  assert.equal(parser.execute(b(`${CHUNKED_HEAD}2\r\nhi\r\n0\r\nX-T: 1\r\n\r\n`)), true);
  parser.start(true);
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n')), true);
  parser.start(false);
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')), true);
  assert.equal(parser.keepAliveTimeout, 0);
  assert.deepEqual(rec.events, [
    head(200, 'OK', ['Keep-Alive', 'timeout=5', 'Content-Length', '2']),
    body('ok', true),
    complete(),
    head(200, 'OK', ['Transfer-Encoding', 'chunked']),
    body('hi', false),
    body('', true),
    complete(['X-T', '1']),
    head(200, 'OK', ['Content-Length', '100']),
    body('', true),
    complete(),
    head(200, 'OK', ['Transfer-Encoding', 'chunked']),
    body('', true),
    complete(undefined),
  ]);
});

test('reuse: the next response starts in the leftover of the previous read', () => {
  const first = 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\none';
  const second = `${CHUNKED_HEAD}3\r\ntwo\r\n0\r\n\r\n`;
  for (let split = 1; split < second.length; split++) {
    const { parser, rec } = setup();
    const read = b(first + second.slice(0, split));
    assert.equal(parser.execute(read), true);
    const leftover = parser.leftover;
    assert.equal(leftover, split);
    assert.equal(parser.keepAlive, false);
    parser.start(false);
    assert.equal(parser.leftover, 0, 'reset by start()');
    assert.equal(parser.execute(read.subarray(read.length - leftover)), false, `split at ${split}`);
    assert.equal(parser.execute(b(second.slice(split))), true, `split at ${split}`);
    assert.equal(parser.leftover, 0);
    assert.equal(parser.keepAlive, true);
    assert.deepEqual(normalize(rec.events), [
      head(200, 'OK', ['Connection', 'close', 'Content-Length', '3']),
      body('one', true),
      complete(),
      head(200, 'OK', ['Transfer-Encoding', 'chunked']),
      body('two', true),
      complete(),
    ]);
  }
});

test('reuse: start() drops a partial head, chunk-size line or trailer section of the previous response', () => {
  for (const partial of ['HTTP/1.1 200 OK\r\nX-Old: 1', `${CHUNKED_HEAD}5;ext`, `${CHUNKED_HEAD}0\r\nX-Old: 1`]) {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(partial)), false);
    rec.events.length = 0;
    parser.start(false);
    assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')), true, partial);
    assert.deepEqual(rec.events, [head(200, 'OK', ['Content-Length', '2']), body('ok', true), complete()], partial);
  }
});

test('reuse: start() after a ParseError parses a new response', () => {
  const { parser, rec } = setup();
  assertParseError(() => parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n')), 'HPE_UNEXPECTED_CONTENT_LENGTH');
  parser.start(false);
  assert.equal(parser.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')), true);
  assert.deepEqual(rec.events[0], head(200, 'OK', ['Content-Length', '0']));
});

test('busy and headReceived: false before the first start()', () => {
  const parser = new ResponseParser(new Recorder());
  assert.equal(parser.busy, false);
  assert.equal(parser.headReceived, false);
  assert.equal(parser.leftover, 0);
  assert.equal(parser.keepAlive, false);
  assert.equal(parser.keepAliveTimeout, 0);
});

// ---------------------------------------------------------------------------------------------
// Chunk extensions: RFC 9112 7.1.1 grammar, found by a differential run against Node's client
// ---------------------------------------------------------------------------------------------

test('chunk extensions the RFC allows without BWS are accepted (and ignored)', () => {
  for (const extension of [';a', ';a=b', ';a="q\\"x y"', ';a;b=c', ';a="\xe9"']) {
    const { parser, rec } = setup();
    assert.equal(parser.execute(b(`${CHUNKED_HEAD}5${extension}\r\nhello\r\n0\r\n\r\n`)), true, JSON.stringify(extension));
    assert.equal(rec.events.filter((e) => e.kind === 'body').map((e) => (e as { data: string }).data).join(''), 'hello');
  }
});

test('chunk extensions outside the grammar are HPE_INVALID_CHUNK_SIZE: a space inside a name, obs-text in a token, no name, an open quote', () => {
  for (const extension of [';a chunked=b', ';a=b\xff', ';=b', ';a="open', ';a=b c', ';a=', ';;']) {
    const { parser } = setup();
    assertParseError(() => parser.execute(b(`${CHUNKED_HEAD}5${extension}\r\nhello\r\n0\r\n\r\n`)), 'HPE_INVALID_CHUNK_SIZE');
  }
});
