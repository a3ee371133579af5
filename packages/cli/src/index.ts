/**
 * `@wardcast/cli`: the `wardcast` command (`listen`, `send`, `stats`) for people testing a
 * Wardcast deployment, and {@link runCli} to run it from code.
 *
 * @packageDocumentation
 * @module \@wardcast/cli
 */

export { CliError, CliErrorCode, ExitCode } from './errors.js';
export type { CliIo, TextSink } from './io.js';
export { runCli } from './run.js';
export { VERSION } from './version.js';
