import type { StreamPosition, TelemetryFrame } from '@wardcast/protocol';
import type { ClientEvents, ClientNotification, ClientOptions, ClientStatus } from '../types.js';

/** Positions by topic, as the `positions` JSON of `StreamTracker`. */
export type Positions = Record<string, StreamPosition>;

/** A notification as relayed on the channel (plain data). */
export type Relayed = ClientNotification<Record<string, unknown>>;

/** Relayed client events (everything but `notification` and `status`, which have their own messages). */
export type RelayedEvent =
  | { readonly e: 'latency'; readonly a: number }
  | { readonly e: 'gap'; readonly a: ClientEvents['gap'][0] }
  | { readonly e: 'denied'; readonly a: ClientEvents['denied'][0] }
  | { readonly e: 'revoked'; readonly a: ClientEvents['revoked'][0] }
  | { readonly e: 'refused'; readonly a: ClientEvents['refused'][0] }
  | { readonly e: 'receipt'; readonly a: ClientEvents['receipt'][0] }
  | { readonly e: 'presence'; readonly a: ClientEvents['presence'][0] }
  | { readonly e: 'telemetry'; readonly a: TelemetryFrame }
  | { readonly e: 'error'; readonly a: { readonly code: string; readonly message: string; readonly status?: number } };

/** What a tab sends to the leader. */
export type TabMessage =
  /** The tab's whole topic set (replaces the previous one); `state`: answer with a {@link StateMessage}. */
  | {
      readonly t: 'hello';
      readonly tab: string;
      readonly u: string;
      readonly topics: readonly string[];
      readonly presence: readonly string[];
      readonly state: boolean;
    }
  | { readonly t: 'receipt'; readonly tab: string; readonly action: 'ack' | 'read'; readonly id: string }
  | { readonly t: 'bye'; readonly tab: string }
  /** A follower that heard nothing from the leader for a while: any live leader answers at once (`hb`). */
  | { readonly t: 'ping'; readonly tab: string };

/** The current state, for a tab that just said hello. */
export interface StateMessage {
  readonly t: 'state';
  readonly to: string;
  readonly u: string;
  /** Recent notifications of every topic, oldest first. */
  readonly items: readonly Relayed[];
  /** Ids read or acknowledged lately, oldest first. */
  readonly receipts: readonly (readonly [id: string, action: 'ack' | 'read'])[];
  readonly positions: Positions;
  readonly status: ClientStatus;
  readonly latencyMs: number | undefined;
  readonly presence: Readonly<Record<string, readonly string[]>>;
  readonly telemetry: TelemetryFrame | undefined;
}

/** What the leader sends to the tabs, before it is stamped with its term. */
export type LeaderBody =
  | { readonly t: 'leader'; readonly u: string }
  /** The heartbeat: this leader is alive (sent every `shareHeartbeatMs`, and in answer to a `ping`). */
  | { readonly t: 'hb' }
  | { readonly t: 'n'; readonly n: Relayed }
  | { readonly t: 'pos'; readonly p: Positions }
  | { readonly t: 'status'; readonly s: ClientStatus; readonly l: number | undefined }
  | ({ readonly t: 'ev' } & RelayedEvent)
  | StateMessage;

/**
 * What the leader sends to the tabs: stamped with its term `k`, larger for every new leader
 * (`max(Date.now(), highest term seen + 1)`), so that tabs ignore a stale leader (one that was
 * frozen while another took its lock) and a stale leader learns that it was replaced.
 */
export type LeaderMessage = LeaderBody & { readonly k: number };

export type Message = TabMessage | LeaderMessage;

/** The minimal Web Locks API used (`navigator.locks`). */
export interface LockManagerLike {
  request(
    name: string,
    options: {
      readonly mode?: 'exclusive';
      readonly signal?: AbortSignal;
      readonly steal?: boolean;
      readonly ifAvailable?: boolean;
    },
    /** Called with the lock, or `null` when `ifAvailable` and another holds it. */
    callback: (lock: unknown) => unknown,
  ): Promise<unknown>;
  /** The locks held, each with the id of the client (tab) that holds it. */
  query?(): Promise<{ readonly held?: readonly { readonly name?: string; readonly clientId?: string }[] }>;
}

/** `navigator.locks` and `BroadcastChannel` when this environment has both, else `undefined`. */
export function sharingSupport(): { locks: LockManagerLike; Channel: typeof BroadcastChannel } | undefined {
  const g = globalThis as { navigator?: { locks?: LockManagerLike }; BroadcastChannel?: typeof BroadcastChannel };
  const locks = g.navigator?.locks;
  return locks && typeof locks.request === 'function' && typeof g.BroadcastChannel === 'function'
    ? { locks, Channel: g.BroadcastChannel }
    : undefined;
}

/** cyrb53: a fast 53-bit string hash (not cryptographic: only keeps user ids out of lock names). */
function hash53(s: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/**
 * The name of the lock and channel of a principal: a hash of the declared user id and of every
 * option that changes what the hub sends (hub URL, PHI level, unread replay, telemetry, storage
 * key, `shareKey`), so that only tabs that would open the very same connection share one.
 */
export function shareName(userId: string, o: ClientOptions & { readonly shareKey?: string }): string {
  const scope = [
    userId,
    typeof o.url === 'string' ? o.url : '',
    o.phi ?? 'full',
    o.unread !== false,
    o.telemetry === true,
    o.storageKey ?? 'wardcast',
    o.shareKey ?? '',
  ];
  return `wardcast-shared:${hash53(JSON.stringify(scope))}`;
}

/** A random tab id (`crypto.randomUUID` needs a secure context; this does not). */
export function tabId(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}
