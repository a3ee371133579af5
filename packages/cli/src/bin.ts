#!/usr/bin/env node
import { runCli } from './run.js';

const controller = new AbortController();
const stop = (): void => controller.abort();
// Once: a second Ctrl-C falls back to Node's default and ends the process at once.
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
// `wardcast listen | head -1`: the reader went away; stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') stop();
});

void runCli(process.argv.slice(2), { signal: controller.signal }).then((code) => {
  process.exitCode = code;
  // Exit once output is flushed even if a library left a handle open (keep-alive sockets).
  setTimeout(() => process.exit(code), 1_000).unref();
});
