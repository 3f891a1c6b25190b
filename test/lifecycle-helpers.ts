/**
 * Servers and waits under the names the suites' helper modules import; they live in test/support/.
 */
export { listening, startedProxy, startedUpstream, type StartedProxy } from './support/servers.js';
export { delay, waitFor } from './support/wait.js';
