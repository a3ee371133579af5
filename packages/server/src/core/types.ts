import type { PhiLevel, Priority, StreamPosition } from '@wardcast/protocol';
import type { ClinicalKinds } from '@wardcast/protocol/kinds';
import type { EscalationPolicy } from '../escalation/types.js';

/**
 * What the hub knows about the HTTP upgrade request that opened a connection.
 * Transport adapters fill it in; `headers` keys are lower-case as in Node.
 *
 * @category Hub
 */
export interface UpgradeRequestLike {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Path and query of the upgrade request. */
  readonly url?: string | undefined;
  /** Peer address, for logs and audit. */
  readonly remoteAddress?: string | undefined;
}

/**
 * What `authenticate` receives.
 *
 * @category Hub
 */
export interface AuthContext {
  /** The upgrade request: read a header (`authorization`) or a cookie here. */
  readonly request: UpgradeRequestLike;
  /**
   * The token from an `auth` frame. `undefined` on the first call, made right after the
   * upgrade: return `null` then to ask the client for an in-band token. On a protocol 2
   * connection (the URL's `?protocol=2`, as `@wardcast/client` connects) the one first call
   * comes with its `hello` frame: with that frame's token, or `undefined` when it has none, and
   * `null` then rejects the connection.
   */
  readonly token?: string;
  /** `true` when the connection is already authenticated and this is a refresh. */
  readonly reauthenticate: boolean;
}

/**
 * Who is on the other end of a connection, as returned by `authenticate`.
 * Never put the token itself here: principals show up in events and audit records.
 *
 * @category Hub
 */
export interface Principal {
  /** Stable user id; the user's own topic is `user:<userId>`. */
  readonly userId: string;
  /** When the credentials expire (ms since epoch). Past it plus the grace period, the socket is closed. */
  readonly expiresAt?: number;
  /** Anything else your `authorize` needs (roles, care team, tenant). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/**
 * Decides who a connection is. Return `null` (or `undefined`) to reject. May be async.
 *
 * @category Hub
 */
export type Authenticate = (ctx: AuthContext) => Principal | null | undefined | Promise<Principal | null | undefined>;

/**
 * Decides whether `principal` may subscribe to `topic`. May be async.
 *
 * @category Hub
 */
export type Authorize = (principal: Principal, topic: string) => boolean | Promise<boolean>;

/**
 * The most a principal may see of payloads on a topic. A subscriber may ask for less
 * (`phi` in its subscribe frame), never more. May be async.
 *
 * @category Hub
 */
export type PhiPolicy = (principal: Principal, topic: string) => PhiLevel | Promise<PhiLevel>;

/**
 * Checks an upgrade request's `Origin` header.
 *
 * @category Hub
 */
export type OriginCheck = (origin: string | undefined, request: UpgradeRequestLike) => boolean;

/**
 * A built-in clinical kind: `appointment`, `lab_result`, `ai_analysis`, `diagnosis_update`,
 * `assessment_progress` or `system_alert`. `hub.publish` checks their payloads at compile time.
 *
 * @example
 * ```ts
 * const kind: ClinicalKind = 'lab_result';
 * ```
 *
 * @category Hub
 */
export type ClinicalKind = keyof ClinicalKinds;

/**
 * The payload type `hub.publish` accepts for kind `K`: the kind's payload type from
 * `@wardcast/protocol/kinds` for a built-in kind ({@link ClinicalKind}; for a union of them, the
 * union of their payload types), `unknown` for `custom`,
 * a kind defined with `hub.defineKind`, or a `kind` typed as a plain `string` (those are checked
 * only at runtime, by the kind's schema).
 *
 * @example
 * ```ts
 * type Lab = PublishPayload<'lab_result'>; // LabResultPayload
 * type Discharge = PublishPayload<'acme.discharge'>; // unknown
 * ```
 *
 * @category Hub
 */
export type PublishPayload<K extends string> = [K] extends [ClinicalKind] ? ClinicalKinds[K] : unknown;

/**
 * What a producer passes to `hub.publish` for a kind other than a built-in one (`custom`, a kind
 * defined with `hub.defineKind`, or any `kind: string`), and the fields every {@link PublishInput} has.
 *
 * @example
 * ```ts
 * const input: CustomPublishInput = { kind: 'acme.discharge', payload: { encounterId: 'e1', status: 'done' } };
 * await hub.publish('patient:p9', input);
 * ```
 *
 * @category Hub
 */
export interface CustomPublishInput<K extends string = string> {
  /** Notification kind, e.g. `lab_result`. */
  readonly kind: K;
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

/**
 * What a producer passes to `hub.publish` for a built-in kind: the payload is required and must
 * have the kind's payload type (e.g. `LabResultPayload` for `lab_result`).
 *
 * @example
 * ```ts
 * const input: ClinicalPublishInput<'system_alert'> = {
 *   kind: 'system_alert',
 *   priority: 'urgent',
 *   payload: { severity: 'warning', message: 'EHR maintenance at 22:00' },
 * };
 * await hub.publish('broadcast', input);
 * ```
 *
 * @category Hub
 */
export interface ClinicalPublishInput<K extends ClinicalKind = ClinicalKind> extends CustomPublishInput<K> {
  /** The kind's payload; its schema in `@wardcast/protocol/kinds` also checks it at runtime. */
  readonly payload: ClinicalKinds[K];
}

/**
 * What a producer passes to `hub.publish`. For a built-in kind written as a literal
 * (`kind: 'lab_result'`) it is a {@link ClinicalPublishInput}: a missing or wrongly shaped payload
 * is a compile error. For any other kind, and for the plain `PublishInput` (`kind: string`), it is
 * a {@link CustomPublishInput} whose payload is `unknown`. A `kind` typed as a union of built-in
 * kinds accepts the payload of any of them. Payloads are always validated at runtime as well
 * (`invalid_payload`).
 *
 * @example
 * ```ts
 * await hub.publish('user:dr-lee', {
 *   kind: 'lab_result',
 *   payload: { labOrderId: 'L-1', testName: 'Potassium', status: 'final', abnormal: true, critical: false,
 *     resultAt: '2026-12-01T09:00:00Z' },
 * });
 * // @ts-expect-error: `wrong` is not a lab result
 * await hub.publish('user:dr-lee', { kind: 'lab_result', payload: { wrong: 1 } });
 *
 * // Typed ahead of the call: name the kind, or the literal widens to string and nothing is checked.
 * const alert: PublishInput<'system_alert'> = { kind: 'system_alert', payload: { severity: 'info', message: 'Hi' } };
 * ```
 *
 * @category Hub
 */
export type PublishInput<K extends string = string> = [K] extends [ClinicalKind]
  ? ClinicalPublishInput<K>
  : CustomPublishInput<K>;

/**
 * A notification before the history store gave it a place in its topic's stream.
 *
 * @category Hub
 */
export interface NotificationDraft {
  readonly id: string;
  readonly topic: string;
  readonly kind: string;
  readonly priority: Priority;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly payload: unknown;
}

/**
 * A notification with its place in the topic's stream.
 *
 * @category Hub
 */
export interface StoredNotification extends NotificationDraft {
  readonly epoch: string;
  readonly seq: number;
}

/**
 * What `hub.publish` returns.
 *
 * @category Hub
 */
export interface PublishResult extends StreamPosition {
  readonly id: string;
  /** `true` when this id was already published on the topic: nothing was stored or delivered again. */
  readonly duplicate: boolean;
}
