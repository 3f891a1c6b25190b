#!/usr/bin/env node
// Thin entry: the CLI lives in lib/cli and is compiled to dist/ by `npm run build` (run by `prepare`).
import { main } from '../dist/lib/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error) => {
    // main() reports its own errors; this is the last resort, still one line.
    process.stderr.write(`proxy-breaker: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
