/**
 * `--tls-cert FILE --tls-key FILE` (or the config file's `tls`): the certificate the proxy port
 * serves, read and checked at start (a bad file is exit 2, in one line) and read again on SIGHUP.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { TlsCertificate } from '../proxy/server.js';
import type { CliArgs } from './args.js';
import { cannotRead } from '../errors.js';
import { CliError } from './cli-error.js';
import type { Log } from './log.js';

/** Where the certificate and key are read from, and what was read there. */
export interface TlsFiles {
  cert: string;
  key: string;
  certificate: TlsCertificate;
}

/**
 * The TLS files from the flags over the config file's `tls` (its paths relative to the file), read
 * and checked; `undefined` when neither names any. Throws `CliError` naming the flag or the key.
 */
export function resolveTls(args: CliArgs, file: { cert?: string; key?: string } | undefined, configFile: string | undefined): TlsFiles | undefined {
  const base = configFile === undefined ? '.' : dirname(configFile);
  const cert = args.tls.cert ?? (file?.cert === undefined ? undefined : resolve(base, file.cert));
  const key = args.tls.key ?? (file?.key === undefined ? undefined : resolve(base, file.key));
  const certName = args.tls.cert === undefined ? 'tls.cert' : '--tls-cert';
  const keyName = args.tls.key === undefined ? 'tls.key' : '--tls-key';
  if (cert === undefined && key === undefined) return undefined;
  if (key === undefined) throw new CliError(`${certName}: needs ${certName === '--tls-cert' ? '--tls-key FILE' : 'tls.key'} (the certificate's private key)`);
  if (cert === undefined) throw new CliError(`${keyName}: needs ${keyName === '--tls-key' ? '--tls-cert FILE' : 'tls.cert'} (the certificate the key belongs to)`);
  return { cert, key, certificate: readCertificate(cert, key, certName, keyName) };
}

/** Reads both files and checks that Node can serve them; a `CliError` says which and why. */
export function readCertificate(certFile: string, keyFile: string, certName = '--tls-cert', keyName = '--tls-key'): TlsCertificate {
  const certificate = { cert: readPem(certFile, certName), key: readPem(keyFile, keyName) };
  try {
    createSecureContext(certificate);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' || code === 'ERR_OSSL_KEY_VALUES_MISMATCH' ? 'the key does not belong to the certificate' : (error as Error).message;
    const blamed = /cert/i.test((error as Error).message) && !/key/i.test((error as Error).message) ? `${certName} ${JSON.stringify(certFile)}` : `${keyName} ${JSON.stringify(keyFile)}`;
    throw new CliError(`${blamed}: not a usable certificate and key: ${why}${code === undefined ? '' : ` (${code})`}`);
  }
  return certificate;
}

function readPem(file: string, name: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new CliError(`${name}: ${cannotRead(file, error)}`);
  }
}

/**
 * SIGHUP with TLS: reads the certificate and key again and serves them to new connections; open
 * connections keep theirs. A file that cannot be read or used changes nothing, and says why.
 */
export function reloadCertificate(files: TlsFiles, server: { setCertificate(certificate: TlsCertificate): void }, log: Log): void {
  try {
    server.setCertificate(readCertificate(files.cert, files.key));
  } catch (error) {
    log.event('error', 'certificateReloadFailed', `certificate reload failed, keeping the old one: ${(error as Error).message}`, { cert: files.cert, key: files.key });
    return;
  }
  log.event('info', 'certificateReload', `reloaded the certificate ${files.cert}`, { cert: files.cert, key: files.key });
}
