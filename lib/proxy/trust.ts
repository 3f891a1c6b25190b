/**
 * Upstream trust: the CA certificates an https target's certificate is verified against (`ca`),
 * and the certificate the proxy presents when a target asks for one (`clientCert`, `clientKey`:
 * mutual TLS). The options take PEM contents; the CLI and the config file take file names and
 * read them (lib/cli/trust-files.ts). Everything is checked once here, so a bad PEM is a
 * `ConfigError` at its path and never a failed handshake counted against a healthy target.
 *
 * The private key is kept as a `KeyObject` from the moment it is checked: it prints as
 * `PrivateKeyObject` and serialises as `{}`, so no log line, snapshot or error message can carry it.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ConfigError } from '../errors.js';
import { joinPath, show } from '../validate.js';

/** PEM text, as a string or the bytes of a file. */
export type Pem = string | Buffer;

/** The trust settings of one target, checked. */
export interface UpstreamTls {
  /** Verify the target's certificate (`insecure: false`). */
  rejectUnauthorized: boolean;
  /** The CA certificates that replace Node's default roots; `undefined`: the default roots. */
  ca: readonly string[] | undefined;
  /** The client certificate (PEM, leaf first), with `clientKey`. */
  clientCert: string | undefined;
  clientKey: KeyObject | undefined;
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function pemText(value: unknown, path: string, expected: string): string {
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (typeof value === 'string') return value;
  throw new ConfigError(path, `expected ${expected} (a string or a Buffer), got ${show(value)}`);
}

/** The certificate blocks of PEM text, each parsed, so that a corrupt one fails here and not at the first handshake. */
function certificates(value: unknown, path: string): string[] {
  const text = pemText(value, path, 'PEM certificates');
  const blocks = text.match(CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    // A file name given in code instead of its contents is the likely mistake; say so.
    const hint = typeof value === 'string' && !value.includes('-----') ? ' (pass the contents, e.g. readFileSync(file), not a file name)' : '';
    throw new ConfigError(path, `expected PEM certificates (-----BEGIN CERTIFICATE-----), found none${hint}`);
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new ConfigError(path, `certificate ${i + 1} of ${blocks.length} is not valid PEM (${(error as Error).message})`);
    }
  });
  return blocks;
}

/** `ca`: one PEM bundle or a list of them; the certificate blocks of all. */
export function checkCa(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) return certificates(value, path);
  if (value.length === 0) throw new ConfigError(path, 'expected PEM certificates, got an empty array');
  return value.flatMap((item, i) => certificates(item, joinPath(path, i)));
}

/** `clientCert`: the client certificate, optionally followed by its intermediates. */
export function checkClientCert(value: unknown, path: string): string {
  return certificates(value, path).join('\n');
}

/** `clientKey`: an unencrypted PEM private key. The message never shows the value: it is a secret. */
export function checkClientKey(value: unknown, path: string): KeyObject {
  const text = pemText(value, path, 'a PEM private key');
  try {
    return createPrivateKey(text);
  } catch {
    throw new ConfigError(path, 'expected an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----), but it could not be read');
  }
}

/** The client key must belong to the client certificate: else every handshake would fail at the target. */
export function keyMatchesCert(key: KeyObject, cert: string | undefined): string | undefined {
  if (cert === undefined) return 'needs clientCert (--client-cert): a client key goes with its certificate';
  return new X509Certificate(cert).checkPrivateKey(key) ? undefined : 'does not belong to the client certificate (their public keys differ)';
}

/** Whether two targets' settings connect alike; what a pool must be rebuilt for when it changes. */
export function sameTls(a: UpstreamTls, b: UpstreamTls): boolean {
  const sameKey = a.clientKey === undefined || b.clientKey === undefined ? a.clientKey === b.clientKey : a.clientKey.equals(b.clientKey);
  return a.rejectUnauthorized === b.rejectUnauthorized && a.ca?.join('\n') === b.ca?.join('\n') && a.clientCert === b.clientCert && sameKey;
}

/** The contexts made so far, by settings object (a route's, shared by its targets). */
const contexts = new WeakMap<UpstreamTls, SecureContext>();

/**
 * The TLS context of a target's connections, made once per settings: passing `ca` to each
 * `tls.connect()` would parse the bundle again for every new connection. `undefined`: Node's
 * default context (its default roots, no client certificate).
 */
export function secureContextOf(settings: UpstreamTls): SecureContext | undefined {
  const { ca, clientCert, clientKey } = settings;
  if (ca === undefined && clientCert === undefined) return undefined;
  // A route's targets share its settings object: one context for all of them, not one each.
  let context = contexts.get(settings);
  if (context === undefined) {
    context = createSecureContext({
      ...(ca === undefined ? {} : { ca: [...ca] }),
      ...(clientCert === undefined || clientKey === undefined ? {} : { cert: clientCert, key: clientKey.export({ type: 'pkcs8', format: 'pem' }) }),
    });
    contexts.set(settings, context);
  }
  return context;
}

