/**
 * Just enough of the Chrome DevTools Protocol to drive headless Chromium from a test: launch it,
 * speak WebSocket (RFC 6455, client side) to its browser endpoint, and send commands to a page
 * over a flattened target session. Node 20 has no WebSocket client, and the project takes no
 * dependency for one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrame, encodeClientFrame, webSocketAccept, WS_OPCODE } from '../../fixtures/websocket.js';

/** Bound of every CDP command, ms. */
export const COMMAND_TIMEOUT = 10_000;

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

type Json = Record<string, unknown>;

interface Pending {
  resolve: (value: Json) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  method: string;
}

/** Bytes a complete frame at the start of `buf` takes, or undefined until its header has arrived. */
function frameSize(buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined;
  const mask = (buf[1]! & 0x80) !== 0 ? 4 : 0;
  const size = buf[1]! & 0x7f;
  if (size < 126) return 2 + mask + size;
  if (size === 126) return buf.length < 4 ? undefined : 4 + mask + buf.readUInt16BE(2);
  return buf.length < 10 ? undefined : 10 + mask + Number(buf.readBigUInt64BE(2));
}

/** A DevTools connection: commands by id, events to listeners, frames reassembled across TCP reads. */
export class CdpConnection {
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(method: string, params: Json, sessionId: string | undefined) => void>();
  #nextId = 1;
  /** Received bytes not yet decoded, kept as chunks so a large frame is concatenated once. */
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Size of the frame being waited for, once its header is known. */
  #need = 0;
  /** Payloads of a fragmented message (FIN not yet seen). */
  #fragments: Buffer[] = [];
  #closed = false;

  private constructor(socket: Socket, head: Buffer) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.#fail(new Error('the DevTools connection closed')));
    if (head.length > 0) this.#onData(head);
  }

  static connect(wsUrl: string): Promise<CdpConnection> {
    const url = new URL(wsUrl);
    const key = randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13' },
        signal: AbortSignal.timeout(COMMAND_TIMEOUT),
      });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        reject(new Error(`DevTools answered ${res.statusCode} instead of switching protocols`));
      });
      req.on('upgrade', (res, socket, head) => {
        if (res.headers['sec-websocket-accept'] !== webSocketAccept(key)) {
          socket.destroy();
          reject(new Error('bad Sec-WebSocket-Accept'));
          return;
        }
        resolve(new CdpConnection(socket, head));
      });
      req.end();
    });
  }

  /** Sends one command (to a page when `sessionId` is given) and resolves with its result. */
  send(method: string, params: Json = {}, sessionId?: string): Promise<Json> {
    if (this.#closed) return Promise.reject(new Error(`${method}: the DevTools connection is closed`));
    const id = this.#nextId++;
    const message: Json = { id, method, params };
    if (sessionId !== undefined) message.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no answer within ${COMMAND_TIMEOUT} ms`));
      }, COMMAND_TIMEOUT);
      this.#pending.set(id, { resolve, reject, timer, method });
      this.#socket.write(encodeClientFrame(JSON.stringify(message)));
    });
  }

  /** Calls `listener` for every event; returns a function that removes it. */
  onEvent(listener: (method: string, params: Json, sessionId: string | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the params of the first event `method` (optionally matching) within `timeout`. */
  waitFor(method: string, timeout = COMMAND_TIMEOUT, match: (params: Json) => boolean = () => true): Promise<Json> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no ${method} within ${timeout} ms`));
      }, timeout);
      const off = this.onEvent((name, params) => {
        if (name !== method || !match(params)) return;
        clearTimeout(timer);
        off();
        resolve(params);
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    try {
      this.#socket.write(encodeClientFrame(Buffer.alloc(0), WS_OPCODE.close));
    } catch {
      // already gone
    }
    this.#socket.destroy();
    this.#fail(new Error('closed'));
  }

  #fail(error: Error): void {
    this.#closed = true;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`${pending.method}: ${error.message}`));
      this.#pending.delete(id);
    }
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= Math.max(this.#need, 2)) {
      const buf = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [buf];
      const size = frameSize(buf);
      if (size === undefined || buf.length < size) {
        this.#need = size ?? buf.length + 1;
        return;
      }
      const frame = decodeFrame(buf)!;
      const rest = buf.subarray(frame.length);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
      this.#need = 0;
      this.#onFrame(frame.fin, frame.opcode, frame.payload);
    }
  }

  #onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case WS_OPCODE.ping:
        this.#socket.write(encodeClientFrame(payload, WS_OPCODE.pong));
        return;
      case WS_OPCODE.pong:
        return;
      case WS_OPCODE.close:
        this.close();
        return;
      default: // text, binary, continuation
        this.#fragments.push(payload);
        if (!fin) return;
        this.#onMessage(Buffer.concat(this.#fragments).toString('utf8'));
        this.#fragments = [];
    }
  }

  #onMessage(text: string): void {
    const message = JSON.parse(text) as { id?: number; result?: Json; error?: { message: string }; method?: string; params?: Json; sessionId?: string };
    if (message.id !== undefined) {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.error) pending.reject(new Error(`${pending.method}: ${message.error.message}`));
      else pending.resolve(message.result ?? {});
      return;
    }
    if (message.method !== undefined) for (const listener of this.#listeners) listener(message.method, message.params ?? {}, message.sessionId);
  }
}

/** A page in the browser: commands go to its session. */
export class Page {
  constructor(
    readonly cdp: CdpConnection,
    readonly sessionId: string,
  ) {}

  send(method: string, params: Json = {}): Promise<Json> {
    return this.cdp.send(method, params, this.sessionId);
  }

  /** Evaluates `expression` in the page and returns its value (JSON-serialisable results only). */
  async evaluate<T>(expression: string): Promise<T> {
    const reply = (await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (reply.exceptionDetails) throw new Error(`page threw: ${reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text}`);
    return reply.result.value as T;
  }

  /** Polls `expression` every 50 ms until it returns `expected`; rejects with the last value after `timeout`. */
  async waitForValue<T>(expression: string, expected: T, timeout: number): Promise<number> {
    const started = performance.now();
    let last: T | undefined;
    while (performance.now() - started < timeout) {
      last = await this.evaluate<T>(expression);
      if (last === expected) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${expression} was ${JSON.stringify(last)}, not ${JSON.stringify(expected)}, after ${timeout} ms`);
  }

  async screenshot(): Promise<Buffer> {
    const { data } = (await this.send('Page.captureScreenshot', { format: 'png' })) as { data: string };
    return Buffer.from(data, 'base64');
  }
}

export interface Browser {
  cdp: CdpConnection;
  process: ChildProcess;
  /** Opens a new page (tab) of `width` x `height` CSS pixels, with Page, Runtime and Log enabled. */
  newPage(width?: number, height?: number): Promise<Page>;
  /** Closes the browser, then kills what is left of its process group; removes its profile. */
  close(): Promise<void>;
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--remote-debugging-port=0',
];

/** Starts headless Chromium with a fresh profile and connects to its DevTools endpoint. */
export async function launchChromium(timeout = 20_000): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const profile = mkdtempSync(join(tmpdir(), 'proxy-breaker-chromium-'));
  // Its own process group, so close() can end the renderers and helpers with the browser.
  const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (): Promise<void> => {
    if (child.pid !== undefined) {
      // The whole group, even when the browser itself is gone: helpers may outlive it briefly.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: nothing left
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
    }
    rmSync(profile, { recursive: true, force: true });
  };
  let wsUrl: string;
  try {
    wsUrl = await new Promise<string>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`Chromium printed no DevTools URL within ${timeout} ms:\n${stderr.slice(-2000)}`)), timeout);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Chromium exited with ${code}:\n${stderr.slice(-2000)}`));
      });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        stderr += chunk;
        const match = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
  } catch (error) {
    await kill();
    throw error;
  }
  child.stderr!.resume(); // keep draining, or a chatty Chromium blocks on a full pipe
  let cdp: CdpConnection;
  try {
    cdp = await CdpConnection.connect(wsUrl);
  } catch (error) {
    await kill();
    throw error;
  }
  return {
    cdp,
    process: child,
    async newPage(width = 1280, height = 800): Promise<Page> {
      const { targetId } = (await cdp.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
      const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
      const page = new Page(cdp, sessionId);
      await page.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
      await Promise.all([page.send('Page.enable'), page.send('Runtime.enable'), page.send('Log.enable')]);
      return page;
    },
    async close(): Promise<void> {
      await Promise.race([cdp.send('Browser.close').catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2_000))]);
      cdp.close();
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
      await kill();
    },
  };
}
