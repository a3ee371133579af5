/**
 * Exit codes of the `wardcast` command. Every failure has its own code, so a script can tell a
 * typo in a flag from a hub that is down or a token that expired. The table is also in the
 * package README.
 *
 * @example
 * ```ts
 * import { ExitCode, runCli } from '@wardcast/cli';
 *
 * const code = await runCli(['stats', '--url', 'http://127.0.0.1:3000']);
 * if (code === ExitCode.Unreachable) console.error('the hub is not running');
 * ```
 *
 * @category CLI
 */
export const ExitCode = {
  /** Done; or `listen` was stopped with Ctrl-C / SIGTERM. */
  Ok: 0,
  /** An unexpected failure (a bug in the CLI). */
  Failure: 1,
  /** Unknown command or flag, a missing or invalid flag value. */
  Usage: 2,
  /** `--url` (or `--origin`) is not a usable URL. */
  BadUrl: 3,
  /** Nothing answered: connection refused, unknown host, timeout, TLS failure. */
  Unreachable: 4,
  /** The hub refused the `Origin` (HTTP 403 at the WebSocket upgrade, or on a `POST`). */
  OriginRefused: 5,
  /** The hub rejected the token (close `4401`, `auth_failed`, HTTP 401) or revoked the session (`4410`). */
  Unauthorized: 6,
  /** The hub is shutting down (close `4503`, HTTP 503 `shutting down` at the upgrade, `hub_closed`). */
  ShuttingDown: 7,
  /** Authenticated but not allowed: every topic denied, close `4403`, HTTP 403 for another reason. */
  Forbidden: 8,
  /** The connection closed for another reason (without `--reconnect`), or the link went silent. */
  ConnectionLost: 9,
  /** An HTTP endpoint answered another error (disabled endpoint, invalid request, server error), or the answer was not a hub's. */
  RequestFailed: 10,
  /** `send` or `stats` was interrupted by Ctrl-C / SIGTERM before the hub answered. */
  Interrupted: 130,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Stable codes of {@link CliError}, printed in brackets after every error message. Each maps to
 * one {@link ExitCode}.
 *
 * @category CLI
 */
export const CliErrorCode = {
  /** {@link ExitCode.Failure} */
  Internal: 'internal_error',
  /** {@link ExitCode.Usage} */
  Usage: 'usage',
  /** {@link ExitCode.BadUrl} */
  BadUrl: 'bad_url',
  /** {@link ExitCode.Unreachable} */
  Unreachable: 'unreachable',
  /** {@link ExitCode.OriginRefused} */
  OriginRefused: 'origin_refused',
  /** {@link ExitCode.Unauthorized} */
  Unauthorized: 'unauthorized',
  /** {@link ExitCode.ShuttingDown} */
  ShuttingDown: 'shutting_down',
  /** {@link ExitCode.Forbidden} */
  Forbidden: 'forbidden',
  /** {@link ExitCode.ConnectionLost} */
  ConnectionLost: 'connection_lost',
  /** {@link ExitCode.RequestFailed} */
  RequestFailed: 'request_failed',
  /** {@link ExitCode.Interrupted} */
  Interrupted: 'interrupted',
} as const;

/** One of the {@link CliErrorCode} values. */
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

const EXIT_CODES: Readonly<Record<CliErrorCode, ExitCode>> = {
  internal_error: ExitCode.Failure,
  usage: ExitCode.Usage,
  bad_url: ExitCode.BadUrl,
  unreachable: ExitCode.Unreachable,
  origin_refused: ExitCode.OriginRefused,
  unauthorized: ExitCode.Unauthorized,
  shutting_down: ExitCode.ShuttingDown,
  forbidden: ExitCode.Forbidden,
  connection_lost: ExitCode.ConnectionLost,
  request_failed: ExitCode.RequestFailed,
  interrupted: ExitCode.Interrupted,
};

/**
 * A failure the CLI reports to its user: a stable `code`, the process exit code that goes with
 * it, a message for people (never containing the token) and an optional hint on what to try.
 *
 * @example
 * ```ts
 * throw new CliError('bad_url', '--url "ftp://hub" is not a ws(s) or http(s) URL');
 * ```
 *
 * @category CLI
 */
export class CliError extends Error {
  /** The stable error code. */
  readonly code: CliErrorCode;
  /** The exit code of the process. */
  readonly exitCode: ExitCode;
  /** What to try next, if there is something useful to say. */
  readonly hint: string | undefined;

  constructor(
    code: CliErrorCode,
    message: string,
    options?: { readonly hint?: string | undefined; readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = EXIT_CODES[code];
    this.hint = options?.hint;
  }
}
