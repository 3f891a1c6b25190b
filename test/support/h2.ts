/**
 * Clients of the proxy's TLS listener: an HTTP/2 session and an HTTPS (HTTP/1.1) request, both
 * trusting the test certificate only, and a proxy started with it.
 */
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { TestContext } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { loadTestCertificate } from '../../fixtures/certificate.js';
import { createProxy, type ProxyOptions } from '../../lib/index.js';
import type { StartedProxy } from './servers.js';

export const CA = loadTestCertificate().cert;

/**
 * A proxy listening with TLS (h2 and HTTP/1.1) on 127.0.0.1 port 0, closed when `t` ends; its
 * `url` is `https://localhost:PORT` (the certificate names localhost and 127.0.0.1).
 */
export async function startedTlsProxy(t: TestContext, options: ProxyOptions, drainMs = 100): Promise<StartedProxy> {
  const proxy = createProxy(options);
  const { port } = await proxy.listen(0, '127.0.0.1', { tls: loadTestCertificate() });
  t.after(() => proxy.close(drainMs));
  return { proxy, port, url: `https://localhost:${port}` };
}

/** An h2 session to `url` trusting the test certificate (or `ca`), closed when `t` ends. */
export async function h2Session(t: TestContext, url: string, ca: Buffer = CA): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url, { ca });
  t.after(() => session.destroy());
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  trailers: http2.IncomingHttpHeaders | undefined;
}

/** One request on `session`; `body` is sent and the stream ended (none: ended with the headers). */
export function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string | Buffer, trailers?: http2.OutgoingHttpHeaders): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined, waitForTrailers: trailers !== undefined });
    if (trailers !== undefined) stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    let response: http2.IncomingHttpHeaders | undefined;
    let received: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (response = h));
    stream.on('trailers', (h) => (received = h));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => {
      const bytes = Buffer.concat(chunks);
      resolve({ status: Number(response?.[':status'] ?? 0), headers: response ?? {}, body: bytes, text: bytes.toString(), trailers: received });
    });
    stream.setTimeout(5_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    if (body !== undefined) stream.end(body);
  });
}

export interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  alpn: string | false;
}

/** An HTTPS (HTTP/1.1) request trusting the test certificate. */
export function httpsRequest(url: string, options: https.RequestOptions & { ALPNProtocols?: string[] } = {}): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { ca: CA, agent: false, timeout: 5_000, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString(), alpn: (res.socket as TLSSocket).alpnProtocol ?? false }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
