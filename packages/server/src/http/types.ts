import type { Logger } from '../core/logger.js';
import type { Principal } from '../core/types.js';

/**
 * A framework-neutral HTTP request, as the adapters ({@link createFetchHandler},
 * {@link createNodeHandler}, {@link createExpressRouter}) hand it to {@link createHttpCore}.
 *
 * @example
 * ```ts
 * const result = await core.handle({ method: 'GET', url: '/v1/ws/stats', headers: {} });
 * ```
 *
 * @category HTTP endpoints
 */
export interface HttpRequestLike {
  /** Upper-case method, e.g. `GET`. */
  readonly method: string;
  /** Path and query, e.g. `/v1/notifications?limit=20`. */
  readonly url: string;
  /** Request headers with lower-case names. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Peer address, for the `read`/`ack` events. */
  readonly remoteAddress?: string | undefined;
  /**
   * A body a framework already parsed (Express's `express.json()`); used instead of `readBody`
   * when not `undefined`.
   */
  readonly body?: unknown;
  /**
   * Reads the raw body as text; rejects with a `body_too_large` {@link HttpError} past `maxBytes`.
   * Called only by endpoints that take a body, after authentication.
   */
  readonly readBody?: (maxBytes: number) => Promise<string>;
}

/**
 * What {@link HttpCore.handle} answers: a status, headers, and a JSON body (always
 * `{ success: true, data }` or `{ success: false, error: { code, message } }`).
 *
 * @example
 * ```ts
 * const { status, headers, body } = result;
 * res.writeHead(status, headers).end(JSON.stringify(body));
 * ```
 *
 * @category HTTP endpoints
 */
export interface HttpResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/**
 * Decides whether `principal` may send a test notification to `userId` (someone else; everyone
 * may always target themselves). Only a return value of exactly `true` allows it. May be async.
 *
 * @example
 * ```ts
 * const canSendTestTo: CanSendTestTo = (principal) => principal.claims?.role === 'admin';
 * ```
 *
 * @category HTTP endpoints
 */
export type CanSendTestTo = (principal: Principal, userId: string) => boolean | Promise<boolean>;

/**
 * Options of the HTTP endpoints ({@link createFetchHandler}, {@link createNodeHandler},
 * {@link createExpressRouter}, {@link createHttpCore}).
 *
 * @example
 * ```ts
 * const options: HttpHandlerOptions = { enableTestNotifications: process.env.NODE_ENV !== 'production' };
 * ```
 *
 * @category HTTP endpoints
 */
export interface HttpHandlerOptions {
  /**
   * Prefix of every endpoint path, e.g. `'/api'` for `/api/v1/notifications`. With Express the
   * full original URL is matched, wherever the middleware is mounted.
   * @default ''
   */
  readonly basePath?: string;
  /**
   * Enables `POST /v1/ws/test-notification`. When off, its path is not handled at all (the
   * Fetch handler and a Node handler without `next` answer 404; Express moves on to `next`).
   * @default false
   */
  readonly enableTestNotifications?: boolean;
  /**
   * Who may send a test notification to another user.
   * @default nobody: a caller may only target their own `user_id`
   */
  readonly canSendTestTo?: CanSendTestTo;
  /**
   * Who may read `GET /v1/ws/stats`: anyone (`'public'`; it holds counts only, no ids, tokens
   * or payloads), callers that pass `authenticate` (`'authenticated'`), or nobody (`'off'`, not
   * handled).
   * @default 'public'
   */
  readonly stats?: 'public' | 'authenticated' | 'off';
  /**
   * Serves `GET /v1/health/live` (liveness: 200 while the process answers) and
   * `GET /v1/health/ready` (readiness: 200, or 503 `not_ready` while the broker or history store
   * is degraded and from `hub.close()` on), without authentication: they carry states only.
   * `false` leaves both paths unhandled.
   * @default true
   */
  readonly health?: boolean;
  /**
   * Serves the Server-Sent Events fallback transport (`GET /v1/sse/notifications`, the stream, and
   * `POST /v1/sse/notifications/:id`, the client's frames) for clients where WebSockets are
   * blocked: the same hub, origin check, authentication, limits and resume as the WebSocket.
   * The Node, Express and Fetch handlers all serve it (the Fetch handler answers a streaming
   * `Response`). `false` leaves the paths unhandled.
   * @default true
   */
  readonly sse?: boolean;
  /**
   * Largest request body, in bytes; a larger one is answered with 413 `body_too_large`.
   * @default 16_384 (16 KiB)
   */
  readonly maxBodyBytes?: number;
  /**
   * Where unexpected failures (HTTP 500) are logged, with the method and path, never the query,
   * body or headers.
   * @default no logging
   */
  readonly logger?: Logger;
}

/**
 * Default {@link HttpHandlerOptions.maxBodyBytes}: 16 KiB.
 *
 * @example
 * ```ts
 * createNodeHandler(hub, { maxBodyBytes: DEFAULT_MAX_BODY_BYTES * 4 });
 * ```
 *
 * @category HTTP endpoints
 */
export const DEFAULT_MAX_BODY_BYTES = 16_384;
