import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import type { AuditEvent, AuditEventType, HubEvents } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { schedule } from '../core/timers.js';
import type { PublishInput, PublishResult, StoredNotification } from '../core/types.js';
import type { EscalationPolicy, EscalationRecord, EscalationStore } from './types.js';
import { escalatedId } from './validate.js';

/** What the manager needs from its hub. Internal. */
export interface EscalationHost {
  publish(topic: string, input: PublishInput): Promise<PublishResult>;
  /** Whether user `userId` on connection `sessionId` may see `topic` (the hub asks `authorize`). */
  mayAcknowledge(sessionId: string, userId: string, topic: string): boolean | Promise<boolean>;
  /** Emits a hub event; listener exceptions are caught by the hub. */
  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void;
  readonly logger: Logger;
}

interface Tracked {
  record: EscalationRecord;
  cancel: () => void;
}

/**
 * Tracks acknowledgement deadlines of critical notifications and escalates along their chain.
 * State is written through to an {@link EscalationStore}; timers are in memory (unref'd) and
 * re-armed from the store by {@link EscalationManager.resume}. Internal to the hub.
 */
export class EscalationManager {
  readonly #store: EscalationStore;
  readonly #host: EscalationHost;
  readonly #tracked = new Map<string, Tracked>();
  /** Acknowledgeable id (original or `<id>~<step>`) -> original id. */
  readonly #aliases = new Map<string, string>();
  /** Per-record queue of store writes, so they land in order. */
  readonly #writes = new Map<string, Promise<void>>();
  #stopped = false;
  /** Ids this manager finished lately: a `resume` racing the final write must not revive them. */
  readonly #finished = new Set<string>();
  /** Re-runs `resume` every `store.resumeIntervalMs` when the store asks for it. */
  #poll: ReturnType<typeof setInterval> | undefined;

  constructor(store: EscalationStore, host: EscalationHost) {
    this.#store = store;
    this.#host = host;
  }

  /** Starts tracking a notification that was just published with `policy` (already checked). */
  async start(n: StoredNotification, policy: EscalationPolicy): Promise<void> {
    if (this.#stopped) return;
    if (this.#tracked.has(n.id)) {
      this.#host.logger.warn({ id: n.id }, 'wardcast: an escalation with this id is already running');
      return;
    }
    const now = Date.now();
    const first = policy.chain[0] as (typeof policy.chain)[number];
    const record: EscalationRecord = {
      id: n.id,
      topic: n.topic,
      kind: n.kind,
      priority: n.priority,
      payload: n.payload,
      createdAt: new Date(now).toISOString(),
      chain: policy.chain,
      step: 0,
      deadline: now + first.deadlineMs,
      status: 'pending',
    };
    this.#track(record);
    this.#audit('escalation.started', record, { userId: first.userId, step: 0 });
    await this.#persist(record);
  }

  /** Re-arms every pending record of the store (by its absolute deadline). Resolves with how many. */
  async resume(): Promise<number> {
    this.#startPolling();
    let records: readonly EscalationRecord[];
    try {
      records = await this.#store.loadPending();
    } catch (cause) {
      this.#storeFailed('load', cause);
      return 0;
    }
    let resumed = 0;
    for (const record of records) {
      if (this.#stopped) break;
      if (record.status !== 'pending' || this.#tracked.has(record.id) || this.#finished.has(record.id)) continue;
      this.#track(record);
      resumed++;
    }
    return resumed;
  }

  /** Handles the hub's `ack` event: the first allowed ack of a tracked id ends its escalation. */
  async onAck(ack: {
    readonly sessionId: string;
    readonly userId: string | undefined;
    readonly id: string;
  }): Promise<void> {
    const id = this.#aliases.get(ack.id);
    const t = id === undefined ? undefined : this.#tracked.get(id);
    if (!t || ack.userId === undefined) return;
    if (!(await this.#mayAcknowledge(t.record, ack.sessionId, ack.userId))) {
      this.#host.logger.debug(
        { id, sessionId: ack.sessionId },
        'wardcast: ack ignored for escalation (not a recipient)',
      );
      return;
    }
    if (this.#stopped || this.#tracked.get(t.record.id) !== t) return;
    const { record } = t;
    const at = new Date().toISOString();
    this.#finish(t, { ...record, status: 'acknowledged', acknowledgedBy: ack.userId });
    const info = { id: record.id, topic: record.topic, step: record.step, userId: ack.userId, at };
    this.#host.emit('acknowledged', { ...info, sessionId: ack.sessionId, notificationId: ack.id });
    this.#audit('escalation.acknowledged', record, { userId: ack.userId, step: record.step, sessionId: ack.sessionId });
  }

  /** Cancels every timer and waits for pending store writes; then closes the store. Never rejects. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#poll !== undefined) clearInterval(this.#poll);
    this.#poll = undefined;
    for (const t of this.#tracked.values()) t.cancel();
    this.#tracked.clear();
    this.#aliases.clear();
    await Promise.all(this.#writes.values());
    try {
      await this.#store.close?.();
    } catch (cause) {
      this.#host.logger.warn({ err: cause }, 'wardcast: error while closing the escalation store');
    }
  }

  #startPolling(): void {
    const every = this.#store.resumeIntervalMs;
    if (this.#poll !== undefined || this.#stopped || typeof every !== 'number' || !(every > 0)) return;
    this.#poll = setInterval(() => void this.resume(), Math.max(100, every));
    this.#poll.unref?.();
  }

  #track(record: EscalationRecord): void {
    const t: Tracked = { record, cancel: () => {} };
    this.#tracked.set(record.id, t);
    this.#aliases.set(record.id, record.id);
    for (let i = 1; i <= record.step; i++) this.#aliases.set(escalatedId(record.id, i), record.id);
    this.#arm(t);
  }

  #arm(t: Tracked): void {
    const id = t.record.id;
    t.cancel = schedule(Math.max(0, t.record.deadline - Date.now()), () => {
      void this.#expire(id);
    });
  }

  async #expire(id: string): Promise<void> {
    const t = this.#tracked.get(id);
    if (!t || this.#stopped) return;
    const { record } = t;
    const next = record.step + 1;
    const target = record.chain[next];
    if (target === undefined) {
      const last = record.chain[record.step]?.userId ?? '';
      this.#finish(t, { ...record, status: 'unacknowledged' });
      const at = new Date().toISOString();
      this.#host.emit('unacknowledged', { id, topic: record.topic, step: record.step, userId: last, at });
      this.#audit('escalation.exhausted', record, { userId: last, step: record.step });
      return;
    }
    const notificationId = escalatedId(id, next);
    t.record = { ...record, step: next, deadline: Date.now() + target.deadlineMs };
    this.#aliases.set(notificationId, id);
    this.#arm(t);
    void this.#persist(t.record);
    const topic = `user:${target.userId}`;
    const { kind, priority, payload } = record;
    try {
      await this.#host.publish(topic, { id: notificationId, kind, priority, payload });
    } catch (cause) {
      if (this.#stopped) return;
      // The chain goes on at this step's deadline: a failed step must not stall the escalation.
      const code = isWardcastError(cause) ? cause.code : ErrorCode.Internal;
      this.#host.logger.warn({ id, step: next, err: cause }, 'wardcast: escalation step publish failed');
      this.#host.emit('error', new WardcastError(code, 'escalation step could not be published', { cause }));
      this.#audit('escalation.step', record, { userId: target.userId, step: next, topic, code });
      return;
    }
    const at = new Date().toISOString();
    const deadline = new Date(t.record.deadline).toISOString();
    this.#host.emit('escalated', {
      id,
      topic: record.topic,
      step: next,
      userId: target.userId,
      at,
      notificationId,
      deadline,
    });
    this.#audit('escalation.step', record, { userId: target.userId, step: next, topic });
  }

  async #mayAcknowledge(record: EscalationRecord, sessionId: string, userId: string): Promise<boolean> {
    for (let i = 0; i <= record.step; i++) if (record.chain[i]?.userId === userId) return true;
    try {
      return (await this.#host.mayAcknowledge(sessionId, userId, record.topic)) === true;
    } catch (cause) {
      this.#host.logger.warn({ sessionId, err: cause }, 'wardcast: authorize threw while checking an ack');
      return false;
    }
  }

  #finish(t: Tracked, final: EscalationRecord): void {
    t.cancel();
    this.#tracked.delete(final.id);
    this.#finished.add(final.id);
    if (this.#finished.size > 10_000) this.#finished.delete(this.#finished.values().next().value as string);
    for (let i = 0; i <= final.step; i++) this.#aliases.delete(i === 0 ? final.id : escalatedId(final.id, i));
    void this.#persist(final);
  }

  #persist(record: EscalationRecord): Promise<void> {
    const previous = this.#writes.get(record.id) ?? Promise.resolve();
    const write = previous
      .then(() => this.#store.save(record))
      .catch((cause: unknown) => this.#storeFailed('save', cause));
    this.#writes.set(record.id, write);
    void write.then(() => {
      if (this.#writes.get(record.id) === write) this.#writes.delete(record.id);
    });
    return write;
  }

  #storeFailed(op: string, cause: unknown): void {
    this.#host.logger.warn({ err: cause }, `wardcast: escalation store ${op} failed`);
    this.#host.emit('error', new WardcastError(ErrorCode.StoreUnavailable, `escalation store ${op} failed`, { cause }));
  }

  #audit(
    type: AuditEventType,
    record: EscalationRecord,
    extra: { userId: string; step: number; sessionId?: string; topic?: string; code?: string },
  ): void {
    const event: AuditEvent = {
      type,
      at: new Date().toISOString(),
      sessionId: extra.sessionId,
      userId: extra.userId,
      topic: extra.topic ?? record.topic,
      notificationId: record.id,
      step: extra.step,
      ...(extra.code === undefined ? {} : { code: extra.code }),
    };
    this.#host.emit('audit', event);
  }
}
