/**
 * `@wardcast/server`: the NotificationHub, its transport seam, the in-memory history store and
 * broker, and the healthcare layer (clinical kinds, escalations, inbox, audit chain). The
 * assessment pipeline is `@wardcast/server/assessment`; the LLM layer is `@wardcast/server/llm`.
 *
 * @packageDocumentation
 * @module \@wardcast/server
 */

export type { PhiLevel, Priority, StreamPosition } from '@wardcast/protocol';
export { CloseCode, closeCodes, ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
export {
  type AuditChain,
  type AuditChainFailure,
  type AuditChainOptions,
  type AuditChainVerification,
  type ChainedAuditRecord,
  canonicalJson,
  createAuditChain,
  GENESIS_HASH,
  verifyAuditChain,
} from './audit/hash-chain.js';
export { MemoryBroker } from './broker/memory-broker.js';
export type {
  Broker,
  BrokerControl,
  BrokerHandler,
  ControlHandler,
  ControlMessage,
  PresenceMember,
} from './broker/types.js';
export type { AdmissionTicket, AdmitResult } from './core/admission.js';
export type {
  AuditEvent,
  AuditEventType,
  ConnectionInfo,
  ConnectionRefusalReason,
  HubEvents,
  PresenceEvent,
  RefusedEvent,
  UpgradeRefusalReason,
} from './core/events.js';
export type {
  HealthCheckStatus,
  HealthChecks,
  HealthFailure,
  HealthStatus,
  HubHealth,
} from './core/health.js';
export { HubCore } from './core/hub-core.js';
export { type Logger, silentLogger } from './core/logger.js';
export { DEFAULT_LIMITS, type HubLimits, type HubOptions } from './core/options.js';
export type { PublishContext, PublishStage } from './core/publish-pipeline.js';
export type { ConnectionSnapshot, HubStats } from './core/stats.js';
export { EncodedFrame, type SocketHandlers, type TransportSocket } from './core/transport.js';
export type {
  AuthContext,
  Authenticate,
  Authorize,
  ClinicalKind,
  ClinicalPublishInput,
  CustomPublishInput,
  NotificationDraft,
  OriginCheck,
  PhiPolicy,
  Principal,
  PublishInput,
  PublishPayload,
  PublishResult,
  StoredNotification,
  UpgradeRequestLike,
} from './core/types.js';
export { MemoryEscalationStore, type MemoryEscalationStoreOptions } from './escalation/memory-store.js';
export type {
  AcknowledgedEvent,
  EscalatedEvent,
  EscalationEventInfo,
  EscalationPolicy,
  EscalationRecord,
  EscalationStatus,
  EscalationStep,
  EscalationStore,
} from './escalation/types.js';
export { DEFAULT_MEMORY_HISTORY, type MemoryHistoryOptions, MemoryHistoryStore } from './history/memory-history.js';
export type { AppendOptions, AppendResult, HistoryStore, ReadResult } from './history/types.js';
export { createHttpCore, type HttpCore } from './http/core.js';
export { HttpError } from './http/errors.js';
export { createExpressRouter } from './http/express.js';
export { createFetchHandler } from './http/fetch.js';
export { createNodeHandler, type NodeHandler, type NodeRequest } from './http/node.js';
export {
  type CanSendTestTo,
  DEFAULT_MAX_BODY_BYTES,
  type HttpHandlerOptions,
  type HttpRequestLike,
  type HttpResult,
} from './http/types.js';
export { type AttachOptions, DEFAULT_PATH, NotificationHub, type NotificationHubOptions } from './hub.js';
export { DEFAULT_MEMORY_INBOX, MemoryInbox, type MemoryInboxOptions } from './inbox/memory-inbox.js';
export type { InboxEntry, InboxPage, InboxStore } from './inbox/types.js';
export type { KindDefinition, PayloadSchema, SchemaIssue } from './kinds/kind-registry.js';
export { BROADCAST_TOPIC, type NotifyHelpers, type NotifyOptions, type NotifyResult } from './notify/helpers.js';
export { createSseFetchHandler } from './sse/fetch.js';
export { createSseNodeHandler, SSE_HEADERS } from './sse/node.js';
export { SSE_KEY_HEADER, SSE_PATH } from './sse/transport.js';
export type { WsTransportOptions } from './ws/upgrade.js';
