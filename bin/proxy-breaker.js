#!/usr/bin/env node
// Thin entry: the CLI lives in lib/cli and is compiled to dist/ by `npm run build` (run by `prepare`).
import { main } from '../dist/lib/cli/main.js';

main(process.argv.slice(2)).then((code) => {
  if (code !== undefined) process.exitCode = code;
});
