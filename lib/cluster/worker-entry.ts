// The module node:cluster forks for each worker of `startCluster()` (primary.ts): the worker takes
// everything from the primary, so it needs neither argv nor the caller's script. The CLI forks
// its own entry instead (lib/cli/cluster-worker.ts), which adds its logs.
import { runWorker } from './worker.js';

runWorker();
