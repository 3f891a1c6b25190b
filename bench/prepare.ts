/** Before any server starts: build, snapshot dist/, compile the child scripts. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workDir } from './procs.js';
import type { MemoryScripts } from './memory.js';
import type { Scripts } from './scenarios.js';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const benchDir = fileURLToPath(new URL('.', import.meta.url));

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function build(): void {
  log('building (npm run build) ...');
  const out = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (out.status !== 0) throw new Error('`npm run build` failed; fix the build, or set BENCH_BUILD=0 to bench the dist/ there is');
}

/**
 * Copies dist/ away, so that a build by someone else halfway through the bench cannot change
 * what is measured; returns the copy and a short hash of its JavaScript. The fixture upstream is
 * not part of the build (fixtures/ is test-only), so it is transpiled into the copy's fixtures/.
 */
export function snapshotDist(): { dir: string; hash: string } {
  const dir = join(workDir, 'dist');
  cpSync(join(root, 'dist'), dir, { recursive: true });
  compileFixtures(join(dir, 'fixtures'));
  const hash = createHash('sha256');
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) hash.update(entry.name).update(readFileSync(path));
    }
  };
  walk(join(dir, 'lib'));
  return { dir, hash: hash.digest('hex').slice(0, 12) };
}

/** fixtures/*.ts to plain .js in `outDir`; their relative `./x.js` imports then resolve there. */
function compileFixtures(outDir: string): void {
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  const fixtures = join(root, 'fixtures');
  mkdirSync(outDir, { recursive: true });
  for (const file of readdirSync(fixtures).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(join(fixtures, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    });
    writeFileSync(join(outDir, file.replace(/\.ts$/, '.js')), outputText);
  }
  // The copy sits outside the package: say that these .js files are ES modules.
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
}

/**
 * The child servers are TypeScript: transpiled here to plain .mjs so that they run on bare
 * `node`, with no loader thread or compiler in their CPU and RSS figures.
 */
export function compileScripts(): Scripts & MemoryScripts & { loadgen: string; breaker: string; answer: string } {
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  const outDir = join(workDir, 'bin');
  mkdirSync(outDir, { recursive: true });
  const compile = (file: string): string => {
    const source = readFileSync(join(benchDir, file), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    });
    const out = join(outDir, file.replace(/^.*\//, '').replace(/\.ts$/, '.mjs'));
    writeFileSync(out, outputText);
    return out;
  };
  return {
    candidate: compile('servers/candidate.ts'),
    naive: compile('naive-proxy.ts'),
    hello: compile('servers/hello.ts'),
    answer: compile('servers/answer.ts'),
    loadgen: compile('servers/loadgen-node.ts'),
    breaker: compile('breaker.ts'),
    sink: compile('servers/sink.ts'),
    transfer: compile('servers/transfer.ts'),
  };
}

