/**
 * fixtures/ is test-only: nothing of it is compiled by the build or published. The demo has its
 * own upstream in lib/cli/, so the package needs none of it. Needs a build (`npm run build`), as
 * the CLI tests do: the pack list is read from dist/.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const fromFixtures = (path: string): boolean => /(^|\/)fixtures\//.test(path);

test('the build compiles no file from fixtures/, not even through an import', () => {
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  const configPath = `${root}tsconfig.build.json`;
  const config = ts.getParsedCommandLineOfConfigFile(configPath, undefined, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
  // The program follows imports, as the build does; no type check is needed to list its files.
  const program = ts.createProgram(config.fileNames, config.options);
  const ours = program
    .getSourceFiles()
    .map((file) => relative(root, file.fileName))
    .filter((path) => !path.startsWith('..') && !path.startsWith('node_modules'));
  assert.ok(ours.includes('lib/cli/demo-upstream.ts'), `the build's files: ${ours.join(', ')}`);
  assert.deepEqual(ours.filter(fromFixtures), []);
});

test('the packed file list has the demo upstream and nothing from fixtures/', () => {
  // --ignore-scripts: no `prepare` build here; the list is what `npm pack` would take from the tree.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [pack] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
  const paths = pack!.files.map((file) => file.path);
  assert.ok(paths.includes('dist/lib/cli/demo-upstream.js'), `not built? packed: ${paths.join(', ')}`);
  assert.deepEqual(paths.filter(fromFixtures), []);
});
