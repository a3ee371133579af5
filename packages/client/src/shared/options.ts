/** Options of the shared client, and the sharing support, timings and sizes it takes from them. */
import type { ClientOptions } from '../types.js';
import { sharingSupport } from './messages.js';

/**
 * Options of {@link createSharedNotificationClient}: those of `createNotificationClient`, plus
 * who the connection is for.
 *
 * @category Client
 */
export interface SharedClientOptions extends ClientOptions {
  /**
   * Share one connection among this browser profile's tabs. `false`: one socket per tab, as
   * `createNotificationClient`. @default true
   */
  readonly shareAcrossTabs?: boolean;
  /**
   * The user the token is for, as the hub's `authenticate` will resolve it (the `userId` of
   * `status`). Required to share: tabs share only with tabs that declared the same user (and the
   * same hub URL, PHI level, `unread`, `telemetry`, `storageKey` and `shareKey`), and the leader
   * closes the shared connection when the hub authenticates anyone else. Without it, the client
   * does not share (an `invalid_option` error says so).
   */
  readonly userId?: string;
  /** Extra scope of the sharing: tabs with different keys never share. @default '' */
  readonly shareKey?: string;
  /**
   * Recent notifications (and receipts) the leader keeps for tabs opened later, which get them
   * at once. Capped by `dedupeWindow`. @default 200
   */
  readonly shareReplay?: number;
  /**
   * How often the leader tab tells the others it is alive, when it has nothing else to send.
   * Use the same value in every tab. @default 2000
   */
  readonly shareHeartbeatMs?: number;
  /**
   * How long the other tabs wait without hearing from the leader tab before one of them takes
   * the lock from it and opens the connection (a leader tab frozen by the browser keeps its
   * lock). A live leader answers a last ping first, so a slow one is not replaced. @default 3 × `shareHeartbeatMs`
   */
  readonly shareLeaderTimeoutMs?: number;
}

/** Web Locks and `BroadcastChannel`, when sharing is asked for, possible and safe (a declared user). */
export function supportFor(options: SharedClientOptions): ReturnType<typeof sharingSupport> {
  return options.shareAcrossTabs !== false && options.userId ? sharingSupport() : undefined;
}

/** How often the leader tab says it is alive (`shareHeartbeatMs`), at least 50 ms. */
export function heartbeatMs(o: SharedClientOptions): number {
  return Math.max(50, o.shareHeartbeatMs ?? 2_000);
}

/** How long the followers wait for a silent leader (`shareLeaderTimeoutMs`), at least one heartbeat. */
export function leaderTimeoutMs(o: SharedClientOptions): number {
  return Math.max(heartbeatMs(o), o.shareLeaderTimeoutMs ?? 3 * heartbeatMs(o));
}

/** How many recent notifications a leader keeps for tabs opened later (`shareReplay`, capped by `dedupeWindow`). */
export function replayLength(o: SharedClientOptions): number {
  return Math.max(0, Math.min(o.shareReplay ?? 200, o.dedupeWindow ?? 2_000));
}
