import type { Priority } from '@wardcast/protocol';

/**
 * One link of an {@link EscalationPolicy}: who is responsible, and for how long.
 *
 * @category Escalation
 */
export interface EscalationStep {
  /** The user responsible at this step; escalated steps are sent to `user:<userId>`. */
  readonly userId: string;
  /** How long this step waits for an acknowledgement before escalating, in ms (> 0). */
  readonly deadlineMs: number;
}

/**
 * Who must acknowledge a critical notification, and by when. `chain[0]` is the primary
 * recipient: the notification goes to its topic as usual and the hub waits `chain[0].deadlineMs`.
 * Without an `ack`, it is re-sent to `user:<chain[1].userId>` (id `<id>~1`), which has
 * `chain[1].deadlineMs`, and so on. Allowed only with `priority: 'critical'`; users must be distinct.
 *
 * @example
 * ```ts
 * const escalation = { chain: [
 *   { userId: 'dr-lee', deadlineMs: 5 * 60_000 },
 *   { userId: 'dr-senior', deadlineMs: 5 * 60_000 },
 *   { userId: 'charge-nurse', deadlineMs: 10 * 60_000 },
 * ] };
 * ```
 *
 * @category Escalation
 */
export interface EscalationPolicy {
  readonly chain: readonly EscalationStep[];
}

/**
 * Where an escalation stands. Only `pending` ones are resumed.
 *
 * @category Escalation
 */
export type EscalationStatus = 'pending' | 'acknowledged' | 'unacknowledged';

/**
 * The state of one escalation, as an {@link EscalationStore} keeps it. Holds the notification
 * (kind, priority, payload) so that a resumed hub can re-send it: it is PHI at rest.
 *
 * @category Escalation
 */
export interface EscalationRecord {
  /** The original notification's id (escalations are keyed by it). */
  readonly id: string;
  /** The original notification's topic. */
  readonly topic: string;
  readonly kind: string;
  readonly priority: Priority;
  /** The stored (validated) payload, re-sent at each step. */
  readonly payload: unknown;
  /** ISO 8601, when the escalation started. */
  readonly createdAt: string;
  readonly chain: readonly EscalationStep[];
  /** Index into `chain` of the step now waiting (`0`: the original publish). */
  readonly step: number;
  /** When the current step expires, ms since epoch. */
  readonly deadline: number;
  readonly status: EscalationStatus;
  /** Who acknowledged, once `status` is `acknowledged`. */
  readonly acknowledgedBy?: string;
}

/**
 * Where escalation state lives, so a durable implementation (Postgres) can resume escalations
 * after a restart. The in-memory default is {@link MemoryEscalationStore}. One hub makes its calls
 * for one record one after another, never concurrently.
 *
 * **Shared by several running instances.** A store shared by instances that run at the same time
 * must hand each pending record to one of them only (e.g. `SELECT ... FOR UPDATE SKIP LOCKED`
 * with a lease in `loadPending`), and should implement the compare-and-set methods
 * {@link EscalationStore.acknowledge} and {@link EscalationStore.advance}: then an ack received
 * by any instance ends the escalation in the store, a step is never sent after an ack recorded
 * elsewhere, and two instances racing the same step (a takeover) advance it once. Without them
 * the hub falls back to `save`, which is right for a store used by one instance at a time (the
 * memory store implements both anyway).
 *
 * @example
 * ```ts
 * const hub = new NotificationHub({ authenticate, escalations: new MemoryEscalationStore() });
 * ```
 *
 * @category Escalation
 */
export interface EscalationStore {
  /** Creates or replaces the record with `record.id`. */
  save(record: EscalationRecord): Promise<void> | void;
  /** The record with this id, if any. */
  load(id: string): Promise<EscalationRecord | undefined> | EscalationRecord | undefined;
  /** Every record whose status is `pending` (called when a hub starts). */
  loadPending(): Promise<readonly EscalationRecord[]> | readonly EscalationRecord[];
  /** Removes a record. */
  delete(id: string): Promise<void> | void;
  /**
   * Compare-and-set end of an escalation by an ack: when the record `id` is still `pending` (at
   * any step), sets its status to `acknowledged` with `acknowledgedBy: userId` (and releases it),
   * atomically. Returns whether this call ended it: `false` when there is no such record or it was
   * already finished (acknowledged elsewhere, or exhausted). Optional: without it the hub `save`s
   * the acknowledged record.
   */
  acknowledge?(id: string, userId: string): Promise<boolean> | boolean;
  /**
   * Compare-and-set step: replaces the record with `next` (`step`, `deadline`, `status`) only if
   * the stored one is still `pending` at step `fromStep`, atomically. `next.status` is `pending`
   * for a new step (the caller keeps owning it) or `unacknowledged` when the chain ran out.
   * Returns whether it did: `false` when the record was acknowledged elsewhere, advanced by
   * another instance, or removed. Optional: without it the hub `save`s `next`.
   */
  advance?(next: EscalationRecord, fromStep: number): Promise<boolean> | boolean;
  /**
   * When set (ms), the hub calls `loadPending` again at this interval, not only at start, and
   * resumes the records it does not track yet: a store shared by running instances uses it to
   * hand the escalations of an instance that died to another one. Leave it unset for a store
   * that hands every pending record to every caller (like the memory store).
   */
  readonly resumeIntervalMs?: number;
  /** Frees everything. */
  close?(): Promise<void> | void;
}

/**
 * What the escalation events carry. Never payloads.
 *
 * @category Escalation
 */
export interface EscalationEventInfo {
  /** The original notification's id. */
  readonly id: string;
  /** The original notification's topic. */
  readonly topic: string;
  /** Index into the chain: the step escalated to, acknowledged at, or the last one. */
  readonly step: number;
  /** `escalated`: the new recipient; `acknowledged`: who acknowledged; `unacknowledged`: the last recipient. */
  readonly userId: string;
  /** ISO 8601. */
  readonly at: string;
}

/**
 * Payload of the `escalated` event.
 *
 * @category Escalation
 */
export interface EscalatedEvent extends EscalationEventInfo {
  /** The id the notification was re-sent with (`<id>~<step>`). */
  readonly notificationId: string;
  /** ISO 8601, when this step expires. */
  readonly deadline: string;
}

/**
 * Payload of the `acknowledged` event.
 *
 * @category Escalation
 */
export interface AcknowledgedEvent extends EscalationEventInfo {
  /**
   * The connection that sent the `ack` (`'http'` for `recordReceipt` without one). `'remote'`
   * when the ack reached another instance, which relayed it to this one (the instance that
   * tracks the escalation, with a store that is not shared).
   */
  readonly sessionId: string;
  /** The id that was acknowledged: the original or a re-sent `<id>~<step>`. */
  readonly notificationId: string;
}
