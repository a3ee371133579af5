/**
 * WebSocket close codes used by Wardcast, all in the application range 4000–4999.
 *
 * The table in {@link closeCodes} says, for every code, whether a client may reconnect.
 * Clients must not retry a code whose `retry` is `false`: doing so cannot succeed without a
 * change on the client's side (a new token, a bug fix). Some retryable codes come with a hint:
 * `4430` follows an `error` frame whose `retryAfterMs` says how long to wait first.
 *
 * Standard codes a client may also see: `1006` (abnormal: the hub terminated a connection that
 * missed its heartbeat, or the network dropped), `1009` (a frame larger than the hub's
 * `maxFrameBytes`), and, from the `ws` library's own checks, `1002` (protocol error), `1007`
 * (invalid UTF-8) and `1008` (too many fragments).
 *
 * @example
 * ```ts
 * import { CloseCode, closeCodes, shouldReconnect } from '@wardcast/protocol';
 * ws.addEventListener('close', (e) => {
 *   if (!shouldReconnect(e.code)) showSignIn(closeCodes[e.code as CloseCode]?.name);
 * });
 * ```
 *
 * @category Errors and codes
 */
export const CloseCode = {
  /** The client sent too many frames the hub could not parse. Do not retry: it is a client bug. */
  BadFrame: 4400,
  /** No valid credentials: the token was missing, invalid or rejected. Do not retry with the same token. */
  Unauthorized: 4401,
  /** The principal is not allowed to use this hub. Do not retry. */
  Forbidden: 4403,
  /** The client did not authenticate within `authTimeoutMs`. Retry. */
  AuthTimeout: 4408,
  /**
   * The connection was authenticated but had no subscription and sent nothing for the hub's
   * `idleTimeoutMs`. Retry when there is something to subscribe to.
   */
  IdleTimeout: 4409,
  /** The server revoked the session (logout, account locked). Do not retry. */
  SessionRevoked: 4410,
  /** The principal's token expired and was not refreshed in-band within the grace period. Retry with a fresh token. */
  TokenExpired: 4419,
  /**
   * The client sent more frames per second than `maxFramesPerSecond` allows, or more frames or
   * bytes before authenticating than `maxPreAuthFrames`/`maxPreAuthBytes`. Retry after a backoff.
   */
  RateLimited: 4429,
  /**
   * The user already has `maxConnectionsPerUser` open connections. Retry after the `retryAfterMs`
   * hint of the `too_many_connections` error frame sent just before (a slot frees when another
   * connection closes, or when the slots of a crashed hub instance lapse), with a growing backoff.
   */
  TooManyConnections: 4430,
  /** The client read too slowly and its send buffer passed `maxBufferedBytes`. Retry and resume. */
  SlowConsumer: 4440,
  /** The hub hit an unexpected error while serving this connection. Retry. */
  InternalError: 4500,
  /** The hub is shutting down (deploy, restart). Retry, ideally against another instance. */
  ServerShuttingDown: 4503,
} as const;

/** One of the {@link CloseCode} values. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * What a client should know about one close code.
 *
 * @category Errors and codes
 */
export interface CloseCodeInfo {
  /** The key of the code in {@link CloseCode}. */
  readonly name: keyof typeof CloseCode;
  /** Whether a client may reconnect after this code. */
  readonly retry: boolean;
  /** One sentence for people reading logs. */
  readonly description: string;
}

/**
 * Every Wardcast close code with its name, retry rule and description.
 *
 * @example
 * ```ts
 * closeCodes[4401]; // { name: 'Unauthorized', retry: false, description: '...' }
 * ```
 *
 * @category Errors and codes
 */
export const closeCodes: Readonly<Record<CloseCode, CloseCodeInfo>> = {
  4400: { name: 'BadFrame', retry: false, description: 'Too many malformed frames.' },
  4401: { name: 'Unauthorized', retry: false, description: 'Missing or invalid credentials.' },
  4403: { name: 'Forbidden', retry: false, description: 'Principal not allowed on this hub.' },
  4408: { name: 'AuthTimeout', retry: true, description: 'Did not authenticate in time.' },
  4409: { name: 'IdleTimeout', retry: true, description: 'No subscription and no frames for too long.' },
  4410: { name: 'SessionRevoked', retry: false, description: 'Session revoked by the server.' },
  4419: { name: 'TokenExpired', retry: true, description: 'Token expired; reconnect with a fresh one.' },
  4429: { name: 'RateLimited', retry: true, description: 'Too many frames per second, or before authenticating.' },
  4430: {
    name: 'TooManyConnections',
    retry: true,
    description: 'Per-user connection limit reached; retry after the retryAfterMs hint.',
  },
  4440: { name: 'SlowConsumer', retry: true, description: 'Send buffer limit exceeded.' },
  4500: { name: 'InternalError', retry: true, description: 'Unexpected server error.' },
  4503: { name: 'ServerShuttingDown', retry: true, description: 'Server is shutting down.' },
};

/**
 * Whether a client may reconnect after a connection closed with `code`.
 *
 * Wardcast's own codes follow {@link closeCodes}; `1008` (policy violation) and `1009` (frame too
 * large) are not retried, every other standard code is.
 *
 * @example
 * ```ts
 * shouldReconnect(4503); // true: server restarting
 * shouldReconnect(4401); // false: get a new token first
 * ```
 *
 * @category Errors and codes
 */
export function shouldReconnect(code: number): boolean {
  return !FATAL_CLOSE_CODES.includes(code);
}

/**
 * Close codes after which a client must not reconnect: the Wardcast codes whose `retry` is
 * `false` in {@link closeCodes}, plus `1008` and `1009`. (A separate list so clients can check it
 * without bundling the descriptions.)
 *
 * @category Errors and codes
 */
export const FATAL_CLOSE_CODES: readonly number[] = [4400, 4401, 4403, 4410, 1008, 1009];
