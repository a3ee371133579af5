/**
 * `@wardcast/server`: the NotificationHub, its transport seam, and the in-memory history store
 * and broker.
 *
 * @packageDocumentation
 */

export type { PhiLevel, Priority, StreamPosition } from '@wardcast/protocol';
export { CloseCode, closeCodes, ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
export { MemoryBroker } from './broker/memory-broker.js';
export type { Broker, BrokerHandler } from './broker/types.js';
export type { AuditEvent, AuditEventType, ConnectionInfo, HubEvents } from './core/events.js';
export { HubCore } from './core/hub-core.js';
export { type Logger, silentLogger } from './core/logger.js';
export { DEFAULT_LIMITS, type HubLimits, type HubOptions } from './core/options.js';
export type { ConnectionSnapshot, HubStats } from './core/stats.js';
export { EncodedFrame, type SocketHandlers, type TransportSocket } from './core/transport.js';
export type {
  AuthContext,
  Authenticate,
  Authorize,
  NotificationDraft,
  OriginCheck,
  PhiPolicy,
  Principal,
  PublishInput,
  PublishResult,
  StoredNotification,
  UpgradeRequestLike,
} from './core/types.js';
export { DEFAULT_MEMORY_HISTORY, type MemoryHistoryOptions, MemoryHistoryStore } from './history/memory-history.js';
export type { AppendResult, HistoryStore, ReadResult } from './history/types.js';
export { type AttachOptions, DEFAULT_PATH, NotificationHub, type NotificationHubOptions } from './hub.js';
export type { InboxEntry, InboxPage, InboxStore } from './inbox/types.js';
export type { KindDefinition, PayloadSchema, SchemaIssue } from './kinds/kind-registry.js';
export { BROADCAST_TOPIC, type NotifyHelpers, type NotifyOptions, type NotifyResult } from './notify/helpers.js';
export type { WsTransportOptions } from './ws/upgrade.js';
