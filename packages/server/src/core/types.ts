import type { PhiLevel, Priority, StreamPosition } from '@wardcast/protocol';
import type { EscalationPolicy } from '../escalation/types.js';

/**
 * What the hub knows about the HTTP upgrade request that opened a connection.
 * Transport adapters fill it in; `headers` keys are lower-case as in Node.
 */
export interface UpgradeRequestLike {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Path and query of the upgrade request. */
  readonly url?: string | undefined;
  /** Peer address, for logs and audit. */
  readonly remoteAddress?: string | undefined;
}

/** What `authenticate` receives. */
export interface AuthContext {
  /** The upgrade request: read a header (`authorization`) or a cookie here. */
  readonly request: UpgradeRequestLike;
  /**
   * The token from an `auth` frame. `undefined` on the first call, made right after the
   * upgrade: return `null` then to ask the client for an in-band token.
   */
  readonly token?: string;
  /** `true` when the connection is already authenticated and this is a refresh. */
  readonly reauthenticate: boolean;
}

/**
 * Who is on the other end of a connection, as returned by `authenticate`.
 * Never put the token itself here: principals show up in events and audit records.
 */
export interface Principal {
  /** Stable user id; the user's own topic is `user:<userId>`. */
  readonly userId: string;
  /** When the credentials expire (ms since epoch). Past it plus the grace period, the socket is closed. */
  readonly expiresAt?: number;
  /** Anything else your `authorize` needs (roles, care team, tenant). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** Decides who a connection is. Return `null` (or `undefined`) to reject. May be async. */
export type Authenticate = (ctx: AuthContext) => Principal | null | undefined | Promise<Principal | null | undefined>;

/** Decides whether `principal` may subscribe to `topic`. May be async. */
export type Authorize = (principal: Principal, topic: string) => boolean | Promise<boolean>;

/**
 * The most a principal may see of payloads on a topic. A subscriber may ask for less
 * (`phi` in its subscribe frame), never more. May be async.
 */
export type PhiPolicy = (principal: Principal, topic: string) => PhiLevel | Promise<PhiLevel>;

/** Checks an upgrade request's `Origin` header. */
export type OriginCheck = (origin: string | undefined, request: UpgradeRequestLike) => boolean;

/** What a producer passes to `hub.publish`. */
export interface PublishInput {
  /** Notification kind, e.g. `lab_result`. */
  readonly kind: string;
  /** @default 'routine' */
  readonly priority?: Priority;
  /** Kind-specific body; must be JSON-serialisable. */
  readonly payload?: unknown;
  /** Your id for the notification; publishing the same id twice on a topic stores and delivers it once. */
  readonly id?: string;
  /**
   * Acknowledgement deadlines and who to escalate to when they pass (only with `priority: 'critical'`).
   * Started once the notification is published; a duplicate publish starts nothing.
   */
  readonly escalation?: EscalationPolicy;
}

/** A notification before the history store gave it a place in its topic's stream. */
export interface NotificationDraft {
  readonly id: string;
  readonly topic: string;
  readonly kind: string;
  readonly priority: Priority;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly payload: unknown;
}

/** A notification with its place in the topic's stream. */
export interface StoredNotification extends NotificationDraft {
  readonly epoch: string;
  readonly seq: number;
}

/** What `hub.publish` returns. */
export interface PublishResult extends StreamPosition {
  readonly id: string;
  /** `true` when this id was already published on the topic: nothing was stored or delivered again. */
  readonly duplicate: boolean;
}
