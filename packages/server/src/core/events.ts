import type { Priority, WardcastError } from '@wardcast/protocol';
import type { AcknowledgedEvent, EscalatedEvent, EscalationEventInfo } from '../escalation/types.js';

/**
 * Identifies a connection in events. Never contains tokens.
 *
 * @category Observability
 */
export interface ConnectionInfo {
  readonly sessionId: string;
  /** `undefined` until the connection authenticated. */
  readonly userId: string | undefined;
  readonly remoteAddress: string | undefined;
}

/**
 * Kinds of {@link AuditEvent}.
 *
 * @category Observability
 */
export type AuditEventType =
  | 'connection.opened'
  | 'connection.closed'
  | 'auth.succeeded'
  | 'auth.failed'
  | 'subscribe.denied'
  | 'subscription.revoked'
  | 'notification.acknowledged'
  | 'notification.read'
  | 'escalation.started'
  | 'escalation.step'
  | 'escalation.acknowledged'
  | 'escalation.exhausted';

/**
 * A record for your audit store: who, when, what — never payloads or tokens.
 *
 * @example
 * ```ts
 * hub.on('audit', (e) => auditLog.write(e));
 * ```
 *
 * @category Observability
 */
export interface AuditEvent {
  readonly type: AuditEventType;
  /** ISO 8601. */
  readonly at: string;
  /** The connection concerned; `undefined` for records no connection caused (`escalation.*` except `escalation.acknowledged`). */
  readonly sessionId: string | undefined;
  readonly userId: string | undefined;
  readonly topic?: string;
  readonly notificationId?: string;
  /** Escalation step (index into the chain) of `escalation.*` records. */
  readonly step?: number;
  /** Close code or error code, when there is one. */
  readonly code?: number | string;
}

/**
 * Payload of the `presence` hub event: exactly one of `joined` and `left` is set (a user id).
 *
 * @category Observability
 */
export type PresenceEvent =
  | { readonly topic: string; readonly joined: string; readonly left?: undefined }
  | { readonly topic: string; readonly left: string; readonly joined?: undefined };

/**
 * Why an upgrade request was refused before the WebSocket opened (see {@link RefusedEvent}).
 *
 * @category Observability
 */
export type UpgradeRefusalReason =
  /** `Origin` not allowed by `allowedOrigins`: HTTP 403. */
  | 'origin'
  /** No handler for the path: the hub was the only upgrade listener (`attach()`): HTTP 404. */
  | 'path'
  /** `hub.close()` was called: HTTP 503. */
  | 'shutting_down'
  /** `maxConnections` open on this instance: HTTP 503. */
  | 'too_many_connections'
  /** `maxUnauthenticatedPerAddress` connections from the address still authenticating: HTTP 429. */
  | 'too_many_unauthenticated'
  /** Over `maxUpgradesPerSecondPerAddress`: HTTP 429. */
  | 'upgrade_rate';

/**
 * Why an open connection was cut off for what its client sent (see {@link RefusedEvent}).
 *
 * @category Observability
 */
export type ConnectionRefusalReason =
  /** Over `maxFramesPerSecond`: close `4429`. */
  | 'rate_limited'
  /** Over `maxPreAuthFrames` or `maxPreAuthBytes` before authenticating: close `4429`. */
  | 'pre_auth_limit'
  /** The `maxInvalidFrames`-th malformed frame: close `4400`. */
  | 'bad_frames'
  /** A frame over `maxFrameBytes`: close `1009`. */
  | 'frame_too_large'
  /** A WebSocket protocol violation found by the transport (bad framing, invalid UTF-8, too many fragments): close `1002`, `1007` or `1008`. */
  | 'protocol_error';

/**
 * Payload of the `refused` hub event: an upgrade the hub refused (`stage: 'upgrade'`, with the HTTP
 * `status`) or a connection it cut off for what its client sent (`stage: 'connection'`, with the
 * close `code`). Addresses and origins only: never tokens, frames or payloads. `origin` is the
 * request's `Origin` header, cut to 256 characters.
 *
 * @category Observability
 */
export type RefusedEvent =
  | {
      readonly stage: 'upgrade';
      readonly reason: UpgradeRefusalReason;
      readonly status: number;
      /** The client address (see `clientAddress`). */
      readonly remoteAddress: string | undefined;
      readonly origin: string | undefined;
    }
  | (ConnectionInfo & {
      readonly stage: 'connection';
      readonly reason: ConnectionRefusalReason;
      readonly code: number;
      readonly origin: string | undefined;
    });

/**
 * Events of a `NotificationHub`, for `hub.on(name, listener)` (which returns an unsubscribe
 * function). Nothing here carries tokens or payloads.
 *
 * @category Observability
 */
export interface HubEvents {
  /** A socket opened (not yet authenticated). */
  connection: [info: ConnectionInfo];
  /** A connection authenticated (first time or refresh). */
  authenticated: [info: ConnectionInfo & { readonly expiresAt: number | undefined; readonly refresh: boolean }];
  /** A connection closed and was freed. */
  disconnect: [info: ConnectionInfo & { readonly code: number; readonly reason: string }];
  /** A topic subscription was accepted. */
  subscribe: [info: ConnectionInfo & { readonly topic: string; readonly recovered: boolean }];
  /** A topic subscription was removed by the client. */
  unsubscribe: [info: ConnectionInfo & { readonly topic: string }];
  /**
   * A user's first connection subscribed to a topic (`joined`), or their last one there
   * unsubscribed or closed (`left`). Per instance, like `hub.presence(topic)`.
   */
  presence: [info: PresenceEvent];
  /** A topic subscription was refused. */
  denied: [info: ConnectionInfo & { readonly topic: string; readonly code: string }];
  /**
   * A re-authorization (after an in-band token refresh, or every `reauthorizeIntervalMs`) removed
   * a subscription `authorize` no longer allows (`code: 'topic_denied'`); the client was told with
   * an `unsubscribed` frame.
   */
  revoked: [info: ConnectionInfo & { readonly topic: string; readonly code: string }];
  /**
   * A client acknowledged a notification it was sent or may see (answered with a `receipt`). An
   * `ack` of any other id is refused with `unknown_notification` and emits nothing.
   */
  ack: [info: ConnectionInfo & { readonly userId: string; readonly id: string }];
  /** A client marked a notification read, checked as `ack` is (answered with a `receipt`). */
  read: [info: ConnectionInfo & { readonly userId: string; readonly id: string }];
  /** A notification was stored and handed to the broker. */
  publish: [
    info: {
      readonly id: string;
      readonly topic: string;
      readonly epoch: string;
      readonly seq: number;
      readonly kind: string;
      readonly priority: Priority;
    },
  ];
  /**
   * An upgrade was refused (bad origin or path, a connection limit, shutting down) or a connection
   * was cut off for its frames (rate limit, pre-auth limit, malformed or oversized frames). Also
   * logged at `debug`.
   */
  refused: [info: RefusedEvent];
  /** Something failed that the caller could not see (an `authenticate` that threw, a broker error). */
  error: [error: WardcastError];
  /** An audit record. */
  audit: [event: AuditEvent];
  /** A critical notification was not acknowledged in time and was re-sent to the next user of its escalation chain. */
  escalated: [info: EscalatedEvent];
  /** An escalating notification was acknowledged (by a recipient of the original or of a re-sent copy); its escalation stopped. */
  acknowledged: [info: AcknowledgedEvent];
  /** An escalation chain ran out without any acknowledgement. */
  unacknowledged: [info: EscalationEventInfo];
}
