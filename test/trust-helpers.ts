/**
 * Helpers of the upstream-trust tests (not a test file itself): the test CAs and certificates of
 * fixtures/tls/, and an https upstream of the test's own, signed by the test CA, that can ask for
 * a client certificate and says which one it got. Closed when the test ends.
 */
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TestContext } from 'node:test';
import { listening } from './lifecycle-helpers.js';

const read = (name: string): string => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8');

/** PEM contents: `ca` signed `serverCert`; `clientCa` signed `clientCert`. */
export const PEM = {
  ca: read('ca.pem'),
  serverCert: read('server-cert.pem'),
  serverKey: read('server-key.pem'),
  clientCa: read('client-ca.pem'),
  clientCert: read('client-cert.pem'),
  clientKey: read('client-key.pem'),
  /** The self-signed certificate and key of the fixture upstream: trusted by nobody here. */
  selfSignedCert: read('cert.pem'),
  selfSignedKey: read('key.pem'),
} as const;

/** The file names of the same, for the CLI. */
export const PEM_FILE = {
  ca: new URL('../fixtures/tls/ca.pem', import.meta.url).pathname,
  clientCert: new URL('../fixtures/tls/client-cert.pem', import.meta.url).pathname,
  clientKey: new URL('../fixtures/tls/client-key.pem', import.meta.url).pathname,
} as const;

export interface SeenRequest {
  url: string;
  /** The common name of the client certificate presented, or null. */
  client: string | null;
}

export interface TrustedUpstream {
  url: string;
  /** Requests received, in order (upgrades included). */
  seen: SeenRequest[];
  /** The status of later answers. */
  status: number;
  /** Handshakes completed: a new connection each. */
  readonly handshakes: number;
}

/**
 * An https server on 127.0.0.1 port 0 with a certificate from the test CA. With `requireClientCert`
 * it refuses clients without a certificate from the client CA. Answers `status` with the request
 * it saw as JSON; `/slow` answers after 300 ms; an upgrade gets a 101 and its bytes echoed back.
 */
export async function trustedUpstream(t: TestContext, { requireClientCert = false } = {}): Promise<TrustedUpstream> {
  const server = https.createServer({
    key: PEM.serverKey,
    cert: PEM.serverCert,
    ca: PEM.clientCa,
    requestCert: requireClientCert,
    rejectUnauthorized: requireClientCert,
  });
  const state = { url: '', seen: [] as SeenRequest[], status: 200, handshakes: 0 };
  const clientOf = (socket: TLSSocket): string | null => {
    const cn = socket.getPeerCertificate().subject?.CN;
    return typeof cn === 'string' ? cn : null;
  };
  server.on('secureConnection', () => state.handshakes++);
  server.on('request', (req, res) => {
    const seen = { url: req.url ?? '', client: clientOf(req.socket as TLSSocket) };
    state.seen.push(seen);
    const answer = (): void => void res.writeHead(state.status, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
    if (req.url === '/slow') setTimeout(answer, 300);
    else answer();
  });
  // Upgraded sockets are no longer the server's: closing it would wait for them.
  const tunnels = new Set<Socket>();
  t.after(() => tunnels.forEach((socket) => socket.destroy()));
  server.on('upgrade', (req, socket: Socket) => {
    tunnels.add(socket);
    state.seen.push({ url: req.url ?? '', client: clientOf(socket as TLSSocket) });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  state.url = await listening(t, server);
  return state;
}
