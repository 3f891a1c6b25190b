/** `--workers 2` with `--tls-cert`/`--tls-key`: every worker serves HTTPS and h2; SIGHUP swaps the certificate in every worker. */
import * as assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { loadTestCertificate, testCertificatePaths } from '../fixtures/certificate.js';
import { certificateFiles, upstream } from './cli-helpers.js';
import { get, startCluster } from './cluster-helpers.js';
import { h2Request, h2Session, httpsRequest } from './support/h2.js';

const FIRST = testCertificatePaths();

test('--workers 2 with a certificate: both workers serve HTTPS and h2, and no plain HTTP', async (t) => {
  const target = await upstream(t);
  const cli = await startCluster(t, ['--target', target.url, '--tls-cert', FIRST.cert, '--tls-key', FIRST.key]);
  assert.match(cli.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const url = cli.url.replace('127.0.0.1', 'localhost');
  // Fresh connections are handed to the workers in turn.
  for (let i = 0; i < 4; i++) {
    const reply = await httpsRequest(url, { ALPNProtocols: ['http/1.1'] });
    assert.equal(reply.status, 200);
    assert.equal(reply.alpn, 'http/1.1');
  }
  const session = await h2Session(t, url);
  assert.equal((await h2Request(session, { ':path': '/h2' })).status, 200);
  await cli.until('both workers to report their requests', async () => {
    const { workers } = await cli.workers();
    return workers.every((w) => w.requests >= 2) && workers.reduce((sum, w) => sum + w.requests, 0) === 5;
  });
  await assert.rejects(get(cli.url.replace('https:', 'http:')));
});

test('SIGHUP serves the new certificate from every worker', async (t) => {
  const target = await upstream(t);
  const files = certificateFiles(t);
  const cli = await startCluster(t, ['--target', target.url, '--tls-cert', files.cert, '--tls-key', files.key]);
  const url = cli.url.replace('127.0.0.1', 'localhost');
  const old = await h2Session(t, url);
  files.renew();
  cli.signal('SIGHUP');
  await cli.waitFor('stderr', /reloaded the certificate/);
  const second = loadTestCertificate('second');
  const fingerprint = new X509Certificate(second.cert).fingerprint256;
  const before = (await cli.workers()).workers.map((w) => w.requests);
  // Four fresh connections, two per worker: each must present the new certificate (trusted alone).
  for (let i = 0; i < 4; i++) {
    const fresh = await h2Session(t, url, second.cert);
    assert.equal((fresh.socket as TLSSocket).getPeerCertificate().fingerprint256, fingerprint);
    assert.equal((await h2Request(fresh, { ':path': '/' })).status, 200);
    fresh.close();
  }
  await cli.until('both workers to have served on the new certificate', async () => {
    const now = (await cli.workers()).workers.map((w) => w.requests);
    return now.every((n, i) => n > before[i]!);
  });
  assert.equal((await h2Request(old, { ':path': '/' })).status, 200, 'a connection opened before keeps its certificate');
  assert.equal(cli.stderr.match(/reloaded the certificate/g)?.length, 1, 'logged once, by the primary');
});
