// A breaker must never keep a process alive: the state machine has no timer, and the call-timeout
// timer is unref'd. Each test runs a small script in a child process and waits for it to exit.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function runScript(source: string, limitMs = 5000): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('a process exits on its own', { concurrency: true }, () => {
test('a process holding an open breaker exits on its own', async () => {
  const result = await runScript(`
    import { CircuitBreaker } from './lib/index.ts';
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeout: 60_000 });
    await breaker.call(() => Promise.reject(new Error('down'))).catch(() => {});
    console.log(breaker.state);
  `);
  assert.equal(result.signal, null, `killed after 5 s; stderr: ${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'OPEN');
});

test('a process with a call pending under a 60 s callTimeout exits on its own', async () => {
  const result = await runScript(`
    import { CircuitBreaker } from './lib/index.ts';
    const breaker = new CircuitBreaker({ callTimeout: 60_000 });
    breaker.call(() => new Promise(() => {})).catch(() => {});
    console.log('pending');
  `);
  assert.equal(result.signal, null, `killed after 5 s; stderr: ${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'pending');
});
});
