/** SIGHUP re-reads --config: new routes on success, the old ones kept on error. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCliArgs } from '../lib/cli/args.js';
import { resolveCliConfig } from '../lib/cli/config.js';
import { Log } from '../lib/cli/log.js';
import { reloadConfig } from '../lib/cli/reload.js';
import { createProxy } from '../lib/index.js';
import { configFile, get, startCli, upstream, writeConfig } from './cli-helpers.js';

test('SIGHUP swaps in the routes of the edited config file', async (t) => {
  const [a, b] = [await upstream(t), await upstream(t)];
  const file = configFile(t, { routes: [{ match: '/', targets: a.url }] });
  const cli = startCli(t, ['--config', file, '-p', '0']);
  const url = await cli.url();
  await get(url);
  writeConfig(file, { routes: [{ match: '/', targets: b.url }] });
  cli.signal('SIGHUP');
  await cli.waitFor('stderr', new RegExp(`reloaded ${file}: / => ${b.url}`));
  await get(url);
  assert.deepEqual([a.stats().requests, b.stats().requests], [1, 1]);
});

test('a broken config file on SIGHUP keeps the old routes and says why in one line', async (t) => {
  const a = await upstream(t);
  const file = configFile(t, { routes: [{ match: '/', targets: a.url }] });
  const cli = startCli(t, ['--config', file, '-p', '0']);
  const url = await cli.url();
  writeConfig(file, { routes: [{ match: '/', targets: ['ftp://x'] }] });
  cli.signal('SIGHUP');
  const [line] = await cli.waitFor('stderr', /^.*reload.*$/m);
  assert.match(line, new RegExp(`error: reload of ${file} failed, keeping the old routes: ${file}: routes\\[0\\]\\.targets\\[0\\]: "ftp://x" is not an http\\(s\\) URL$`));
  assert.equal(cli.stderrLines().length, 1);
  assert.equal((await get(url)).status, 200);
  assert.equal(a.stats().requests, 1);
});

test('reloadConfig (in-process) applies the new routes and warns that listen changes need a restart', (t) => {
  const file = configFile(t, { routes: [{ match: '/', targets: 'http://127.0.0.1:9' }] });
  const args = parseCliArgs(['--config', file, '--timeout', '500']);
  const current = resolveCliConfig(args);
  const proxy = createProxy(current.proxy);
  t.after(() => proxy.close(0));
  const lines: string[] = [];
  const log = new Log('json', { write: (line: string) => lines.push(line) });

  writeConfig(file, { routes: [{ match: '/b', targets: 'http://127.0.0.1:10' }], listen: { port: 1 } });
  const next = reloadConfig(args, current, proxy, log);
  assert.deepEqual(proxy.snapshot().routes.map((route) => [route.match, route.targets, route.timeout]), [['/b', ['http://127.0.0.1:10'], 500]]);
  assert.deepEqual(lines.map((line) => JSON.parse(line).event), ['reload', 'reload']);
  assert.deepEqual(JSON.parse(lines[1]!).ignored, ['listen']);
  assert.deepEqual(next.listen, current.listen, 'the listen address in effect stays');

  writeConfig(file, '{');
  assert.equal(reloadConfig(args, next, proxy, log), next);
  assert.equal(JSON.parse(lines[2]!).event, 'reloadFailed');
  assert.equal(proxy.snapshot().routes[0]!.match, '/b');
});
