/**
 * `@wardcast/client`: a reconnecting, resuming, deduplicating subscriber to a Wardcast hub, for
 * browsers and Node. The React binding is in `@wardcast/client/react`.
 *
 * @packageDocumentation
 * @module \@wardcast/client
 */

export { CloseCode, ErrorCode, isWardcastError, shouldReconnect, WardcastError } from '@wardcast/protocol/lean';
export { type BackoffOptions, backoffDelay, type CloseInfo, DEFAULT_BACKOFF, defaultShouldRetry } from './backoff.js';
export { createNotificationClient, NotificationClient } from './client.js';
export { DEFAULT_CLIENT_TIMINGS } from './timings.js';
export type {
  ClientEvents,
  ClientNotification,
  ClientOptions,
  ClientStatus,
  CloseReason,
  GapEvent,
  NotificationMap,
  PresenceEvent,
  Provider,
  StorageLike,
  StreamPosition,
  TelemetryFrame,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
