/**
 * Stable error codes. They appear in `error` frames sent by the hub, in
 * `denied` subscription results, and as the `code` of every {@link WardcastError} the SDKs throw.
 * The full table with causes and fixes is in `docs/errors.md`.
 *
 * @example
 * ```ts
 * if (frame.type === 'error' && frame.code === ErrorCode.RateLimited) slowDown();
 * ```
 *
 * @category Errors and codes
 */
export const ErrorCode = {
  /** A text frame that is not valid JSON. */
  BadJson: 'bad_json',
  /** A JSON frame whose fields do not match its `type`. */
  BadFrame: 'bad_frame',
  /** A JSON frame whose `type` the receiver does not know. */
  UnknownType: 'unknown_type',
  /** A binary frame: the protocol only uses text frames. */
  BinaryNotSupported: 'binary_not_supported',
  /** A frame other than `auth` or `ping` before the connection authenticated. */
  NotAuthenticated: 'not_authenticated',
  /** The `authenticate` callback rejected the token. */
  AuthFailed: 'auth_failed',
  /** A re-authentication resolved to a different user than the connection's. */
  AuthUserMismatch: 'auth_user_mismatch',
  /** A topic name that is not `[A-Za-z0-9_.:-]{1,128}`. */
  InvalidTopic: 'invalid_topic',
  /** `authorize` refused the subscription. */
  TopicDenied: 'topic_denied',
  /** The subscription would pass `maxSubscriptions` for the connection. */
  TooManySubscriptions: 'too_many_subscriptions',
  /**
   * An `ack` or `read` of a notification the connection never received and its user cannot be
   * shown to see (not among the connection's recent deliveries, not in the user's inbox, not an
   * escalation the user may acknowledge). Nothing was recorded and no `receipt` was sent; the
   * client should drop it instead of resending it.
   */
  UnknownNotification: 'unknown_notification',
  /** The connection sent frames faster than `maxFramesPerSecond`. */
  RateLimited: 'rate_limited',
  /**
   * The user already has `maxConnectionsPerUser` connections (across instances with a cluster
   * broker). Sent in an `error` frame with a `retryAfterMs` hint right before the close `4430`.
   */
  TooManyConnections: 'too_many_connections',
  /** `publish` got an input that is not a valid notification. */
  InvalidNotification: 'invalid_notification',
  /** `publish` got a kind that is neither built in, `custom`, nor defined with `hub.defineKind`. */
  UnknownKind: 'unknown_kind',
  /** `publish` got a payload that does not match its kind's schema. */
  InvalidPayload: 'invalid_payload',
  /** `publish` got a payload larger than `maxPayloadBytes`. */
  PayloadTooLarge: 'payload_too_large',
  /** The hub was used after `close()`. */
  HubClosed: 'hub_closed',
  /** The history store or broker failed; nothing was acknowledged. */
  StoreUnavailable: 'store_unavailable',
  /** An option passed to a constructor is invalid. */
  InvalidOption: 'invalid_option',
  /**
   * A risk scorer (e.g. NEWS2) got vital signs that are missing, of the wrong type, not finite, or
   * physiologically implausible. `message` names the field. No score is returned.
   */
  InvalidVitals: 'invalid_vitals',
  /**
   * LLM synthesis: every adapter in the fallback chain failed (retries exhausted, circuit open,
   * output invalid after one repair, or a non-retryable vendor error). The last `LlmError` is the `cause`.
   */
  LlmFailed: 'llm_failed',
  /** LLM synthesis: the caller's `AbortSignal` fired; nothing was retried. */
  LlmCancelled: 'llm_cancelled',
  /** An unexpected failure inside the SDK. */
  Internal: 'internal_error',
  /** Client: no WebSocket implementation (no global `WebSocket`, no `WebSocket` option); the client stops. */
  WebSocketUnavailable: 'websocket_unavailable',
  /**
   * Client: the socket closed before it opened: the hub refused the upgrade (with `ws`, the HTTP
   * `status` is on the error: 403 origin refused, stops; 429 or 503, retried) or could not be reached.
   */
  HandshakeFailed: 'handshake_failed',
  /** HTTP endpoints: a request whose body, query or path parameters are invalid (HTTP 400). */
  BadRequest: 'bad_request',
  /** HTTP endpoints: no credentials, or `authenticate` rejected them (HTTP 401). */
  Unauthorized: 'unauthorized',
  /** HTTP endpoints: authenticated, but not allowed to do this, or a disallowed `Origin` (HTTP 403). */
  Forbidden: 'forbidden',
  /** HTTP endpoints: an unknown or disabled endpoint, or a notification not in the caller's inbox (HTTP 404). */
  NotFound: 'not_found',
  /** HTTP endpoints: a method the endpoint does not accept (HTTP 405). */
  MethodNotAllowed: 'method_not_allowed',
  /** HTTP endpoints: a request body larger than `maxBodyBytes` (HTTP 413). */
  BodyTooLarge: 'body_too_large',
  /**
   * HTTP endpoints: `GET /v1/health/ready` while the hub is not ready: the broker or history store
   * is degraded, or the hub is shutting down (HTTP 503; the body names the failing checks).
   */
  NotReady: 'not_ready',
  /** Assessment pipeline: a submission whose patient id, intake or other fields are invalid (HTTP 400). */
  InvalidRequest: 'invalid_request',
  /** Assessment pipeline: its queue is full; retry after the `retryAfterSeconds` hint (HTTP 429 with `Retry-After`). */
  Busy: 'busy',
  /** Assessment pipeline: the operation does not apply in the assessment's current status, e.g. reviewing a failed one (HTTP 409). */
  InvalidState: 'invalid_state',
  /** Assessment pipeline: the risk scorer threw an unexpected error (a failure `reason`). */
  ScorerFailed: 'scorer_failed',
  /** Assessment pipeline: an assessment ran longer than `timeoutMs` and was stopped (a failure `reason`). */
  AssessmentTimeout: 'assessment_timeout',
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The error type thrown by every Wardcast API. `code` is stable across versions; `message` is for people.
 *
 * @example
 * ```ts
 * try {
 *   await hub.publish('user:u1', { kind: 'lab_result', priority: 'stat' as never, payload: {} });
 * } catch (err) {
 *   if (err instanceof WardcastError && err.code === 'invalid_notification') console.warn(err.message);
 * }
 * ```
 *
 * @category Errors and codes
 */
export class WardcastError extends Error {
  /** The stable error code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WardcastError';
    this.code = code;
  }
}

/**
 * Whether `value` is a {@link WardcastError}, optionally with a given code. Works across
 * duplicated copies of the package (checks the shape, not the prototype).
 *
 * @example
 * ```ts
 * if (isWardcastError(err, 'hub_closed')) return;
 * ```
 *
 * @category Errors and codes
 */
export function isWardcastError(value: unknown, code?: ErrorCode): value is WardcastError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { name?: unknown; code?: unknown };
  return v.name === 'WardcastError' && typeof v.code === 'string' && (code === undefined || v.code === code);
}
