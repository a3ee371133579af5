import type { Registry } from './registry.js';
import type { Session } from './session.js';
import type { Counters } from './session-host.js';

/**
 * What `hub.stats()` returns. Never contains tokens or payloads.
 *
 * @category Observability
 */
export interface HubStats {
  /** Open sockets, authenticated or not. */
  readonly connections: number;
  /** Sockets that authenticated. */
  readonly authenticatedConnections: number;
  /** Distinct users with at least one connection. */
  readonly users: number;
  /** Topics with at least one subscriber on this instance. */
  readonly topics: number;
  /** Topic subscriptions summed over connections. */
  readonly subscriptions: number;
  /** Frames received from clients. */
  readonly framesIn: number;
  /** Frames sent to clients (notifications included). */
  readonly framesOut: number;
  /** Notification frames written to sockets (live and replayed). */
  readonly deliveries: number;
  /** Notifications published (duplicates not counted). */
  readonly published: number;
  /** Publishes of an id already in history. */
  readonly duplicates: number;
  /** Connections cut off, and frames refused, by reason. */
  readonly drops: {
    readonly slowConsumers: number;
    readonly rateLimited: number;
    readonly invalidFrames: number;
    readonly authFailures: number;
    readonly heartbeatTimeouts: number;
  };
  /** WebSocket ping round trip over connections that answered one (ms). */
  readonly rttMs: { readonly avg: number | null; readonly max: number | null; readonly measured: number };
  readonly uptimeMs: number;
}

/**
 * One open connection, as listed by `hub.connections()`.
 *
 * @category Observability
 */
export interface ConnectionSnapshot {
  readonly sessionId: string;
  readonly userId: string | undefined;
  readonly phase: string;
  readonly connectedAt: number;
  readonly topics: readonly string[];
  readonly rttMs: number | undefined;
  readonly bufferedBytes: number;
}

/** Builds {@link HubStats}. */
export function buildStats(
  sessions: ReadonlySet<Session>,
  registry: Registry<Session>,
  c: Counters,
  startedAt: number,
): HubStats {
  let authenticated = 0;
  let subscriptions = 0;
  let rttSum = 0;
  let rttMax = 0;
  let measured = 0;
  for (const s of sessions) {
    if (s.isOpen) authenticated++;
    subscriptions += s.topics.size;
    if (s.rttMs !== undefined) {
      measured++;
      rttSum += s.rttMs;
      rttMax = Math.max(rttMax, s.rttMs);
    }
  }
  return {
    connections: sessions.size,
    authenticatedConnections: authenticated,
    users: registry.userCount,
    topics: registry.topicCount,
    subscriptions,
    framesIn: c.framesIn,
    framesOut: c.framesOut,
    deliveries: c.deliveries,
    published: c.published,
    duplicates: c.duplicates,
    drops: {
      slowConsumers: c.slowConsumers,
      rateLimited: c.rateLimited,
      invalidFrames: c.invalidFrames,
      authFailures: c.authFailures,
      heartbeatTimeouts: c.heartbeatTimeouts,
    },
    rttMs: { avg: measured === 0 ? null : rttSum / measured, max: measured === 0 ? null : rttMax, measured },
    uptimeMs: Date.now() - startedAt,
  };
}

/** Builds a {@link ConnectionSnapshot}. */
export function snapshotOf(s: Session): ConnectionSnapshot {
  return {
    sessionId: s.id,
    userId: s.principal?.userId,
    phase: s.state.phase,
    connectedAt: s.connectedAt,
    topics: [...s.topics.keys()],
    rttMs: s.rttMs,
    bufferedBytes: s.socket.bufferedAmount,
  };
}
