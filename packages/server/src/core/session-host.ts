import type { PhiLevel } from '@wardcast/protocol';
import type { HistoryStore } from '../history/types.js';
import type { KindRegistry } from '../kinds/kind-registry.js';
import type { Cluster } from './cluster.js';
import type { AuditEventType, HubEvents } from './events.js';
import type { Logger } from './logger.js';
import type { NotificationHandles } from './notification-handles.js';
import type { HubLimits } from './options.js';
import type { Receipt, ReceiptVerdict } from './receipts.js';
import type { Registry } from './registry.js';
import type { TimerQueue } from './timers.js';
import type { Authenticate, Authorize, PhiPolicy, StoredNotification } from './types.js';

/** Counters the hub reports in `stats()`. */
export interface Counters {
  framesIn: number;
  framesOut: number;
  deliveries: number;
  published: number;
  duplicates: number;
  slowConsumers: number;
  rateLimited: number;
  invalidFrames: number;
  authFailures: number;
  heartbeatTimeouts: number;
}

/** Creates zeroed {@link Counters}. */
export function newCounters(): Counters {
  return {
    framesIn: 0,
    framesOut: 0,
    deliveries: 0,
    published: 0,
    duplicates: 0,
    slowConsumers: 0,
    rateLimited: 0,
    invalidFrames: 0,
    authFailures: 0,
    heartbeatTimeouts: 0,
  };
}

/** What a session needs from its hub. Implemented by the hub core; internal. */
export interface SessionHost<S> {
  readonly limits: Readonly<Required<HubLimits>>;
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
  readonly phiLevel: PhiPolicy;
  readonly kinds: KindRegistry;
  /** Encodes a notification for one subscriber level (replays; fan-out encodes once per level). */
  encode(n: StoredNotification, level: PhiLevel): string;
  readonly history: HistoryStore;
  readonly registry: Registry<S>;
  /** The per-connection timers (authentication timeout, idle check), on one shared timer. */
  readonly timers: TimerQueue;
  readonly counters: Counters;
  /** The notifications the connections' recent-deliveries rings hold, by handle. */
  readonly handles: NotificationHandles;
  readonly logger: Logger;
  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void;
  /** Whether `event` has a listener: an event nobody listens to is not built (nor emitted). */
  wants(event: keyof HubEvents): boolean;
  /** Emits an `audit` record, built only when someone listens. */
  audit(
    type: AuditEventType,
    session: S,
    extra?: { topic?: string; notificationId?: string; code?: number | string },
  ): void;
  /** First local subscriber on a topic. */
  watch(topic: string): void;
  /** Last local subscriber left a topic. */
  unwatch(topic: string): void;
  /** The transport reported the socket closed. */
  released(session: S): void;
  /** Opts a session in or out of periodic `telemetry` frames. */
  telemetry(session: S, enabled: boolean): void;
  /** `true` once the hub's `close()` was called. */
  closing(): boolean;
  /**
   * The unread inbox notifications of `userId` (whose own topic is `topic`) to replay, oldest
   * first, at most `maxInboxReplay`; `undefined` when the hub has no inbox. Everything up to the
   * topic's position read before is in the inbox: the pipeline records the inbox row before the
   * history store makes a notification visible.
   */
  unreadReplay(userId: string, topic: string): Promise<readonly StoredNotification[] | undefined>;
  /**
   * A `read`/`ack` frame of an authenticated session, `delivered` when the session was sent that
   * id lately: checked, then inbox, receipts to other devices, escalations. See `Receipts.fromFrame`.
   */
  receipt(receipt: Receipt, delivered: boolean): Promise<ReceiptVerdict>;
  /** Cross-instance presence, control messages and connection slots (local no-ops with the memory broker). */
  readonly cluster: Cluster;
}
