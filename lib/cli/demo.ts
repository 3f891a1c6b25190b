/**
 * `proxy-breaker --demo`: the breaker's whole cycle in about five seconds, for a newcomer. It
 * starts its own small upstream (demo-upstream.ts), proxies to it, and sends real requests through
 * its own port while the upstream fails and heals: CLOSED -> OPEN (503 at once, the upstream is left alone) ->
 * HALF_OPEN -> CLOSED. Then it keeps serving, with curl commands to try.
 */
import { STATUS_CODES, get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProxyOptions } from '../proxy/options.js';
import type { Proxy } from '../proxy/proxy.js';
import type { CliArgs } from './args.js';
import { resolveCliConfig } from './config.js';
import { demoCommands, startDemoUpstream, type DemoUpstream } from './demo-upstream.js';
import { Log } from './log.js';
import { DRAIN_MS, onStopSignals } from './process.js';
import { startProxy, type Io, type Running } from './serve.js';

/** Quick enough to watch; flags override each of them. */
export function demoOptions(upstreamUrl: string): ProxyOptions {
  return { targets: [upstreamUrl], timeout: 1000, breaker: { failureThreshold: 3, resetTimeout: 3000, jitter: 0 } };
}

const PATH = '/hello';

export async function runDemo(args: CliArgs, io: Io, log: Log): Promise<Running> {
  const upstream = await startDemoUpstream();
  let proxy: Proxy;
  let url: string;
  let threshold: number;
  try {
    const config = resolveCliConfig(args, demoOptions(upstream.url));
    threshold = config.resolved.routes[0]!.breaker.failureThreshold;
    // The demo is read in one terminal: state changes go with the story, on stdout.
    ({ proxy, url } = await startProxy(config, new Log(config.log.format, io.stdout)));
  } catch (error) {
    await upstream.close();
    throw error;
  }
  let stopping = false;
  const close = async (): Promise<void> => {
    stopping = true;
    await proxy.close(DRAIN_MS);
    await upstream.close();
  };
  onStopSignals({ log, stop: close, inFlight: () => proxy.inFlight });
  const running = { url, close };

  const say = (line: string): void => void io.stdout.write(`${line}\n`);
  say(`proxy-breaker demo listening on ${url} -> / => ${upstream.url} (the demo upstream, which fails on command)`);
  try {
    await scenario({ say, proxy, upstream, url, threshold });
  } catch (error) {
    if (stopping) return running; // a signal closed the proxy under the scenario
    say(`The demo scenario stopped: ${(error as Error).message}`);
  }
  say('');
  say(`The proxy keeps running on ${url}. Try it yourself:`);
  say(`  curl -i ${url}${PATH}`);
  const commands = demoCommands(upstream.url);
  const width = Math.max(...commands.map((c) => c.command.length));
  for (const { command, what } of commands) say(`  ${command.padEnd(width)}   # ${what}`);
  say('Press Ctrl-C to stop.');
  return running;
}

interface Scene {
  say: (line: string) => void;
  proxy: Proxy;
  upstream: DemoUpstream;
  url: string;
  threshold: number;
}

async function scenario({ say, proxy, upstream, url, threshold }: Scene): Promise<void> {
  const state = (): string => proxy.snapshot().targets[0]!.state;
  const send = async (): Promise<Answer> => {
    const answer = await request(`${url}${PATH}`);
    const retryAfter = answer.retryAfter === undefined ? '' : `  Retry-After: ${answer.retryAfter}`;
    say(`     GET ${PATH} -> ${answer.status} ${STATUS_CODES[answer.status] ?? ''} in ${answer.ms} ms${retryAfter}  [circuit ${state()}]`);
    return answer;
  };

  say('');
  say('1. The upstream is healthy: requests pass through.');
  for (let i = 0; i < 3; i++) await send();

  say('');
  say(`2. The upstream starts failing with 500. Each failure counts; ${threshold} in a row open the circuit.`);
  upstream.setMode({ type: 'status', status: 500 });
  for (let i = 0; i < threshold + 20 && state() !== 'OPEN'; i++) await send();
  if (state() !== 'OPEN') throw new Error('the circuit did not open; check the breaker flags');

  say('');
  say('3. The circuit is OPEN: the proxy answers 503 at once and leaves the upstream alone.');
  const before = upstream.requests();
  for (let i = 0; i < 3; i++) await send();
  const after = upstream.requests();
  say(`     the upstream received ${after - before} of these requests (its count stayed at ${after})`);

  say('');
  const nextAttemptAt = proxy.snapshot().targets[0]!.nextAttemptAt ?? Date.now();
  const wait = Math.max(0, nextAttemptAt - Date.now());
  say(`4. The upstream heals. The circuit stays open for ${(wait / 1000).toFixed(1)} s more, then lets one probe through...`);
  upstream.setMode({ type: 'ok' });
  await sleep(wait + 50);

  say('');
  say('5. HALF_OPEN: the next request is the probe.');
  const deadline = Date.now() + 10_000;
  while (state() !== 'CLOSED' && Date.now() < deadline) {
    await send();
    if (state() !== 'CLOSED') await sleep(250);
  }
  if (state() !== 'CLOSED') throw new Error('the circuit did not close again within 10 s');
  await send();
  say('');
  say('==> The probe succeeded: the circuit is CLOSED again and traffic flows normally.');
}

interface Answer {
  status: number;
  ms: number;
  retryAfter: string | undefined;
}

/** One GET on a fresh connection (no keep-alive: nothing left open when the demo stops). */
function request(url: string): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, ms: Math.round(performance.now() - started), retryAfter });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer from ${url} within 15 s`)));
  });
}
