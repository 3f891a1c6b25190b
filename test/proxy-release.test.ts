/**
 * The proxy frees body buffers once the socket they went to took them (lib/http1/release.ts): large
 * bodies in both directions still arrive byte for byte, through backpressure, pieces of every
 * size and TLS on either side, and a piece that anything else may still read (another listener of
 * the request body, a wrapped `res.write`) is left alone.
 *
 * Bodies are random bytes, so a piece freed too early (it reads as empty) or sent from freed memory
 * changes the digest, or leaves a Content-Length body short (then a request fails after 5 s
 * without progress). `released` counts what this process freed, which shows the freeing happened.
 */
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import { test, type TestContext } from 'node:test';
import { loadTestCertificate } from '../fixtures/certificate.js';
import { released } from '../lib/http1/release.js';
import { createProxy } from '../lib/index.js';
import { delay, listening, startedProxy } from './lifecycle-helpers.js';

const MiB = 1024 * 1024;
/** Piece sizes for chunked bodies: several small ones share a socket read, big ones span reads. */
const PIECES = [1, 7, 1000, 70_000, 16_384, 3, 65_536, 20_000, 16_383, 300_000];

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** An HTTP server, or an HTTPS one with the test certificate, on 127.0.0.1; its base URL. */
function serve(t: TestContext, handler: Handler, secure = false): Promise<string> {
  return listening(t, secure ? https.createServer(loadTestCertificate(), handler) : http.createServer(handler));
}

/**
 * http.request or https.request (trusting the test certificate), by the URL's scheme. A body that
 * lost bytes leaves both ends waiting: 5 s without a byte fails the request instead.
 */
function requestTo(url: string, options: http.RequestOptions, onResponse?: (res: http.IncomingMessage) => void): http.ClientRequest {
  const req = url.startsWith('https:')
    ? https.request(url, { ...options, rejectUnauthorized: false }, onResponse)
    : http.request(url, options, onResponse);
  req.setTimeout(5_000, () => req.destroy(new Error(`${options.method ?? 'GET'} ${url}: no progress for 5 s`)));
  return req;
}

/** Writes `body` in pieces of PIECES' sizes (chunked when no Content-Length is set), with backpressure. */
async function writePieces(out: http.ServerResponse | http.ClientRequest, body: Buffer): Promise<void> {
  let at = 0;
  for (let i = 0; at < body.length; i++) {
    const size = PIECES[i % PIECES.length]!;
    if (!out.write(body.subarray(at, at + size))) await once(out, 'drain');
    at += size;
  }
  out.end();
}

/** An upstream answering GET with `body` (chunked in pieces, or with Content-Length), and hashing POST bodies. */
async function bodyUpstream(t: TestContext, body: Buffer, secure = false): Promise<string> {
  const handler: Handler = (req, res) => {
    if (req.method === 'POST') {
      const hash = createHash('sha256');
      let bytes = 0;
      // Reads late: the proxy has to hold the client back meanwhile.
      req.pause();
      setTimeout(() => req.resume(), 50);
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
      return;
    }
    if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      void writePieces(res, body);
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    }
  };
  return serve(t, handler, secure);
}

/**
 * GET `url`, stalling twice at first: the proxy's writes to the client queue up once the kernel's
 * loopback buffers (several MB) are full, so a body must be larger than those to test them.
 */
function download(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    requestTo(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let stalls = 2;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (stalls-- > 0) {
          res.pause();
          setTimeout(() => res.resume(), 100);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** POSTs `body` (with Content-Length, or chunked in pieces); the upstream's digest of what arrived. */
async function upload(url: string, body: Buffer, chunked: boolean): Promise<{ bytes: number; sha256: string }> {
  const headers: http.OutgoingHttpHeaders = chunked ? {} : { 'content-length': body.length };
  const req = requestTo(url, { method: 'POST', headers, agent: false });
  const response = once(req, 'response') as Promise<[http.IncomingMessage]>;
  if (chunked) await writePieces(req, body);
  else req.end(body);
  const [res] = await response;
  let text = '';
  for await (const chunk of res) text += String(chunk);
  assert.equal(res.statusCode, 200, text);
  return JSON.parse(text) as { bytes: number; sha256: string };
}

/** `proxy.handler` in an app's own server (HTTPS when `secure`), which does `before(req, res)` first. */
async function embedded(t: TestContext, target: string, before: Handler, secure = false): Promise<string> {
  const proxy = createProxy({ target, insecure: true });
  t.after(() => proxy.close(0));
  return serve(
    t,
    (req, res) => {
      before(req, res);
      proxy.handler(req, res);
    },
    secure,
  );
}

for (const framing of ['content-length', 'chunked'] as const) {
  test(`a ${framing} download arrives intact while the proxy frees its reads`, async (t) => {
    const body = randomBytes(16 * MiB);
    const upstream = await bodyUpstream(t, body);
    const { url } = await startedProxy(t, { target: upstream });
    const before = released.bytes;
    const reply = await download(`${url}${framing === 'chunked' ? '/chunked' : '/'}`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.length, body.length);
    assert.equal(sha256(reply.body), sha256(body));
    // Reads of a fast loopback transfer are mostly 64 KiB; all but the last are freed.
    assert.ok(released.bytes - before >= MiB, `freed ${released.bytes - before} bytes`);
  });

  test(`a ${framing} upload arrives intact while the proxy frees the client's pieces`, async (t) => {
    const body = randomBytes(4 * MiB);
    const upstream = await bodyUpstream(t, body);
    const { url } = await startedProxy(t, { target: upstream });
    const before = released.bytes;
    const result = await upload(url, body, framing === 'chunked');
    assert.deepEqual(result, { bytes: body.length, sha256: sha256(body) });
    assert.ok(released.bytes - before >= MiB, `freed ${released.bytes - before} bytes`);
  });
}

test('parallel downloads and uploads through one proxy all arrive intact', async (t) => {
  const body = randomBytes(2 * MiB);
  const upstream = await bodyUpstream(t, body);
  const { url } = await startedProxy(t, { target: upstream });
  const digest = sha256(body);
  const results = await Promise.all([
    ...[0, 1, 2, 3].map(async (i) => sha256((await download(`${url}${i % 2 === 0 ? '/' : '/chunked'}`)).body)),
    ...[0, 1, 2, 3].map(async (i) => (await upload(url, body, i % 2 === 1)).sha256),
  ]);
  assert.deepEqual(results, Array(8).fill(digest));
});

test('over TLS on both sides (an https target, proxy.handler in an https server) bodies arrive intact', async (t) => {
  const body = randomBytes(16 * MiB);
  const upstream = await bodyUpstream(t, body, true);
  const url = await embedded(t, upstream, () => {}, true);
  const digest = sha256(body);
  const before = released.bytes;
  for (const path of ['/', '/chunked']) {
    const reply = await download(url + path);
    assert.equal(reply.status, 200);
    assert.equal(sha256(reply.body), digest, path);
  }
  for (const chunked of [false, true]) assert.deepEqual(await upload(url, body, chunked), { bytes: body.length, sha256: digest });
  // TLS delivers at most 16 KiB per record: only full records reach RELEASE_MIN_BYTES.
  assert.ok(released.bytes - before >= MiB, `freed ${released.bytes - before} bytes`);
});

test('request-body pieces that the app also listens for are not freed', async (t) => {
  const body = randomBytes(2 * MiB);
  const upstream = await bodyUpstream(t, body);
  const kept: Buffer[] = [];
  const url = await embedded(t, upstream, (req) => req.on('data', (chunk: Buffer) => kept.push(chunk)));
  await delay(10);
  const before = released.bytes;
  const result = await upload(url, body, false);
  assert.deepEqual(result, { bytes: body.length, sha256: sha256(body) });
  assert.equal(sha256(Buffer.concat(kept)), sha256(body), "the app's own copies are intact");
  assert.equal(released.bytes, before);
});

test('response-body pieces given to a wrapped res.write are not freed', async (t) => {
  const body = randomBytes(2 * MiB);
  const upstream = await bodyUpstream(t, body);
  const kept: Buffer[] = [];
  const url = await embedded(t, upstream, (_req, res) => {
    // As a compression middleware does: it may keep what it is given past the callback.
    const write = res.write;
    res.write = function (this: http.ServerResponse, chunk: Buffer, ...rest: unknown[]) {
      kept.push(chunk);
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof res.write;
  });
  await delay(10);
  const before = released.bytes;
  const reply = await download(url);
  assert.equal(sha256(reply.body), sha256(body));
  const written = Buffer.concat(kept);
  assert.ok(written.length > MiB, `${written.length} bytes went through the wrapper`);
  assert.equal(sha256(written), sha256(body.subarray(0, written.length)), "the wrapper's pieces are intact");
  assert.equal(released.bytes, before);
});

test('a body the app decoded with req.setEncoding() is forwarded as UTF-8 and not freed', async (t) => {
  // Valid UTF-8 survives decoding and encoding unchanged, multi-byte characters included.
  const body = Buffer.from('naïve café, 東京, 🚀 '.repeat(20_000));
  const upstream = await bodyUpstream(t, body);
  const url = await embedded(t, upstream, (req) => req.setEncoding('utf8'));
  await delay(10);
  const before = released.bytes;
  for (const chunked of [false, true]) {
    const result = await upload(url, body, chunked);
    assert.deepEqual(result, { bytes: body.length, sha256: sha256(body) }, chunked ? 'chunked' : 'content-length');
  }
  assert.equal(released.bytes, before);
});
