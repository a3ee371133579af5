import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import type { AuditEvent, AuditEventType, HubEvents } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { schedule } from '../core/timers.js';
import type { PublishInput, PublishResult, StoredNotification } from '../core/types.js';
import type { EscalationPolicy, EscalationRecord, EscalationStore } from './types.js';
import { escalatedId, parseEscalatedId } from './validate.js';

/** What the manager needs from its hub. Internal. */
export interface EscalationHost {
  publish(topic: string, input: PublishInput): Promise<PublishResult>;
  /** Whether user `userId` on connection `sessionId` may see `topic` (the hub asks `authorize`). */
  mayAcknowledge(sessionId: string, userId: string, topic: string): boolean | Promise<boolean>;
  /**
   * Tells the other instances that `userId` acknowledged `id` (an original or a re-sent
   * `<id>~<step>`) here, for an escalation this instance does not track: the hub posts the control
   * message `{ type: 'escalation_ack', userId, id }`, and the instance that tracks it calls
   * {@link EscalationManager.onRemoteAck}. In the background; must not throw.
   */
  broadcastAck(userId: string, id: string): void;
  /** Emits a hub event; listener exceptions are caught by the hub. */
  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void;
  readonly logger: Logger;
}

/** An ack received by this instance: an `ack` frame, or `recordReceipt` (`sessionId` `'http'`). */
export interface LocalAck {
  readonly sessionId: string;
  readonly userId: string | undefined;
  /** The acknowledged id: an original or a re-sent `<id>~<step>`. */
  readonly id: string;
}

/** An ack another instance received and relayed (control message `escalation_ack`). */
export interface RemoteAck {
  readonly userId: string;
  readonly id: string;
}

/** The `sessionId` of acks relayed from another instance (no connection of this one sent them). */
export const REMOTE_ACK_SESSION = 'remote';

interface Tracked {
  record: EscalationRecord;
  /** The step the store holds as far as this instance knows: behind `record.step` after a failed write. */
  storedStep: number;
  cancel: () => void;
}

/**
 * The records an acknowledged id may belong to: an original id may itself end in `~<n>`, so it is
 * read as an original first, then as `<id>~<step>`.
 */
function readingsOf(ackId: string): { readonly id: string; readonly step: number }[] {
  const readings = [{ id: ackId, step: 0 }];
  const parsed = parseEscalatedId(ackId);
  if (parsed) readings.push({ id: parsed.id, step: parsed.step });
  return readings;
}

/** A store read that failed (already reported). */
const FAILED = Symbol('failed');
type Loaded = EscalationRecord | undefined | typeof FAILED;

/** How a compare-and-set write went: `failed` when the store threw (reported; the outcome is unknown). */
type CasOutcome = 'won' | 'lost' | 'failed';

/**
 * Tracks acknowledgement deadlines of critical notifications and escalates along their chain.
 * Internal to the hub; one per hub instance.
 *
 * - {@link EscalationManager.start} is a durable stage of the publish pipeline: the record is in
 *   the store before anyone receives the notification ({@link EscalationManager.cancel} undoes it).
 * - Timers are in memory (unref'd) and re-armed from the store by {@link EscalationManager.resume}
 *   (at start, and every `store.resumeIntervalMs` to take over a dead instance's records).
 * - Every state change after the start is compare-and-set in the store (`acknowledge`, `advance`,
 *   with `save` as the fallback), so that with a store shared by running instances an ack received
 *   anywhere ends the escalation once, a step is never sent after an ack recorded elsewhere, and a
 *   step raced by two instances (a takeover) is advanced once. A step's notification id
 *   `<id>~<step>` is idempotent (the history dedupes it), so it is published before its advance
 *   commits: an instance that dies in between leaves the step to be re-sent, deduped, by the next.
 * - Acks of escalations tracked elsewhere: with a shared store the receiving instance ends the
 *   record itself; either way it asks the host to relay the ack ({@link EscalationHost.broadcastAck}),
 *   and the tracking instance stops ({@link EscalationManager.onRemoteAck}).
 *
 * Store calls for one record are queued, so they never overlap within one instance.
 */
export class EscalationManager {
  readonly #store: EscalationStore;
  readonly #host: EscalationHost;
  readonly #tracked = new Map<string, Tracked>();
  /** Acknowledgeable id (original or `<id>~<step>`) -> original id, for the records tracked here. */
  readonly #aliases = new Map<string, string>();
  /** Per-record queue of store calls, so that they land in order. Its promises never reject. */
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

  /**
   * Starts the escalation of a notification just appended to history with `policy` (already
   * checked): saves the pending record, then arms its first deadline. The publish pipeline calls
   * it before fan-out, so resolves only once the record is in the store.
   *
   * @throws {WardcastError} `store_unavailable` when the store failed to save it (nothing is
   * tracked); `hub_closed` after {@link EscalationManager.stop}.
   */
  async start(n: StoredNotification, policy: EscalationPolicy): Promise<void> {
    if (this.#stopped) throw new WardcastError(ErrorCode.HubClosed, 'hub is closed; escalation not started');
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
    try {
      await this.#serial(record.id, () => this.#store.save(record));
    } catch (cause) {
      this.#host.logger.warn({ id: n.id, err: cause }, 'wardcast: escalation store save failed; publish refused');
      throw new WardcastError(ErrorCode.StoreUnavailable, 'escalation store failed; not published', { cause });
    }
    // Stopped while saving: the record stays pending in the store, for the next start to resume.
    if (this.#stopped || this.#tracked.has(n.id)) return;
    this.#finished.delete(n.id);
    this.#track(record);
    this.#audit('escalation.started', record, { userId: first.userId, step: 0 });
  }

  /**
   * Undoes {@link EscalationManager.start} for a publish abandoned after it: stops tracking `id`
   * and deletes its record from the store. Never rejects; a store failure is emitted as an `error`.
   */
  async cancel(id: string): Promise<void> {
    try {
      const t = this.#tracked.get(id);
      if (t) this.#untrack(t);
      this.#remember(id);
      await this.#serial(id, () => this.#store.delete(id));
    } catch (cause) {
      this.#storeFailed('delete', cause);
    }
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

  /**
   * An ack this instance received (frame or `recordReceipt`). The first allowed ack of an
   * escalation's id (original or `<id>~<step>`) ends it, wherever it is tracked: here at once;
   * for one tracked elsewhere, in a shared store by compare-and-set, and the ack is relayed
   * ({@link EscalationHost.broadcastAck}) so that the tracking instance stops. Never rejects.
   */
  async onAck(ack: LocalAck): Promise<void> {
    try {
      if (ack.userId === undefined || this.#stopped) return;
      const local = this.#trackedFor(ack.id);
      if (local) await this.#ackTracked(local.t, local.step, ack.id, ack.userId, ack.sessionId, false);
      else await this.#ackUntracked(ack.id, ack.userId, ack.sessionId);
    } catch (cause) {
      this.#host.logger.error({ err: cause, id: ack.id }, 'wardcast: escalation ack handling failed');
    }
  }

  /**
   * Whether `ack.id` (an original or a re-sent `<id>~<step>`) is an escalation, tracked here or in
   * the store, whatever its status, that `ack.userId` may acknowledge: a user of its chain up to
   * that step, or one `authorize` allows on its topic. Read-only: the hub asks it before letting
   * an `ack` or `read` of an id the connection was not sent reach anything. Never rejects (a
   * failing store counts as no).
   */
  async recognizes(ack: LocalAck): Promise<boolean> {
    try {
      if (ack.userId === undefined || this.#stopped) return false;
      const local = this.#trackedFor(ack.id);
      if (local) return await this.#mayAcknowledge(local.t.record, local.step, ack.sessionId, ack.userId);
      for (const reading of readingsOf(ack.id)) {
        const stored = await this.#load(reading.id);
        if (stored === FAILED || stored === undefined || reading.step >= stored.chain.length) continue;
        if (await this.#mayAcknowledge(stored, reading.step, ack.sessionId, ack.userId)) return true;
      }
      return false;
    } catch (cause) {
      this.#host.logger.error({ err: cause }, 'wardcast: escalation lookup failed');
      return false;
    }
  }

  /**
   * An ack another instance received for an escalation it does not track. When this instance
   * tracks it: stops silently if the store shows it ended (the receiving instance ended it in a
   * shared store), else checks the acker (with a bare `{ userId }` principal, as for
   * `recordReceipt`) and ends it. Never rejects.
   */
  async onRemoteAck(ack: RemoteAck): Promise<void> {
    try {
      if (this.#stopped) return;
      const local = this.#trackedFor(ack.id);
      if (local) await this.#ackTracked(local.t, local.step, ack.id, ack.userId, REMOTE_ACK_SESSION, true);
    } catch (cause) {
      this.#host.logger.error({ err: cause, id: ack.id }, 'wardcast: remote escalation ack handling failed');
    }
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

  /** The tracked escalation `ackId` belongs to, and the step it names (`0` for the original id). */
  #trackedFor(ackId: string): { t: Tracked; step: number } | undefined {
    const id = this.#aliases.get(ackId);
    const t = id === undefined ? undefined : this.#tracked.get(id);
    if (!t || id === undefined) return undefined;
    return { t, step: ackId === id ? 0 : Number(ackId.slice(id.length + 1)) };
  }

  async #ackTracked(
    t: Tracked,
    step: number,
    notificationId: string,
    userId: string,
    sessionId: string,
    remote: boolean,
  ): Promise<void> {
    const id = t.record.id;
    if (remote) {
      // With a shared store, the instance that received the ack has usually ended it already.
      const stored = await this.#load(id);
      if (stored !== FAILED && stored?.status !== 'pending') {
        if (this.#owns(t)) this.#untrack(t);
        this.#host.logger.debug({ id }, 'wardcast: escalation ended on another instance');
        return;
      }
    }
    if (!(await this.#mayAcknowledge(t.record, step, sessionId, userId))) {
      this.#host.logger.debug({ id, sessionId }, 'wardcast: ack ignored for escalation (not a recipient)');
      return;
    }
    if (!this.#owns(t)) return;
    const { record } = t;
    this.#untrack(t);
    this.#remember(id);
    const outcome = await this.#acknowledge(record, userId);
    // `lost`: ended elsewhere first (an ack on another instance, or the chain ran out there), which reported it.
    if (outcome === 'lost') return;
    this.#acknowledged(record, Math.max(record.step, step), userId, sessionId, notificationId);
  }

  async #ackUntracked(ackId: string, userId: string, sessionId: string): Promise<void> {
    let found: { record: EscalationRecord; step: number } | undefined;
    let known = false;
    for (const reading of readingsOf(ackId)) {
      const stored = await this.#load(reading.id);
      if (stored === FAILED || stored === undefined || reading.step >= stored.chain.length) continue;
      known = true;
      if (stored.status === 'pending') {
        found = { record: stored, step: reading.step };
        break;
      }
    }
    if (!found) {
      // Not in this instance's store (a per-instance store: the tracking instance has it), or the
      // store could not say: relay. Known and finished: nothing to do.
      if (!known) this.#broadcast(userId, ackId);
      return;
    }
    const { record, step } = found;
    if (!(await this.#mayAcknowledge(record, step, sessionId, userId))) {
      this.#host.logger.debug({ id: record.id, sessionId }, 'wardcast: ack ignored for escalation (not a recipient)');
      return;
    }
    if (this.#stopped) return;
    const outcome = await this.#acknowledge(record, userId);
    if (outcome === 'lost') return;
    if (outcome === 'failed') {
      // Unknown here: the tracking instance ends it (and reports it) when it gets the relayed ack.
      this.#broadcast(userId, ackId);
      return;
    }
    this.#remember(record.id);
    const raced = this.#tracked.get(record.id);
    if (raced) this.#untrack(raced); // a resume picked it up meanwhile
    this.#acknowledged(record, Math.max(record.step, step), userId, sessionId, ackId);
    // The tracking instance stops at once instead of at its deadline's re-check.
    this.#broadcast(userId, ackId);
  }

  #acknowledged(record: EscalationRecord, step: number, userId: string, sessionId: string, notificationId: string) {
    const at = new Date().toISOString();
    this.#host.emit('acknowledged', {
      id: record.id,
      topic: record.topic,
      step,
      userId,
      at,
      sessionId,
      notificationId,
    });
    this.#audit('escalation.acknowledged', record, { userId, step, sessionId });
  }

  #broadcast(userId: string, id: string): void {
    try {
      this.#host.broadcastAck(userId, id);
    } catch (cause) {
      this.#host.logger.warn({ err: cause, id }, 'wardcast: relaying an escalation ack failed');
    }
  }

  #track(record: EscalationRecord): void {
    const t: Tracked = { record, storedStep: record.step, cancel: () => {} };
    this.#tracked.set(record.id, t);
    this.#aliases.set(record.id, record.id);
    for (let i = 1; i <= record.step; i++) this.#aliases.set(escalatedId(record.id, i), record.id);
    this.#arm(t);
  }

  /** Stops tracking (timer and aliases). */
  #untrack(t: Tracked): void {
    const { id, chain } = t.record;
    t.cancel();
    if (this.#tracked.get(id) === t) this.#tracked.delete(id);
    for (let i = 0; i < chain.length; i++) {
      const alias = i === 0 ? id : escalatedId(id, i);
      if (this.#aliases.get(alias) === id) this.#aliases.delete(alias);
    }
  }

  #owns(t: Tracked): boolean {
    return !this.#stopped && this.#tracked.get(t.record.id) === t;
  }

  #remember(id: string): void {
    this.#finished.add(id);
    if (this.#finished.size > 10_000) this.#finished.delete(this.#finished.values().next().value as string);
  }

  #arm(t: Tracked): void {
    const id = t.record.id;
    t.cancel = schedule(Math.max(0, t.record.deadline - Date.now()), () => {
      void this.#expire(t).catch((cause: unknown) => {
        this.#host.logger.error({ err: cause, id }, 'wardcast: escalation step failed');
      });
    });
  }

  /** The current step's deadline passed: re-check, send the next step, then advance (compare-and-set). */
  async #expire(t: Tracked): Promise<void> {
    if (!this.#owns(t)) return;
    const id = t.record.id;
    // Never follow an ack recorded by another instance with a step, nor a step another one took.
    const stored = await this.#load(id);
    if (!this.#owns(t)) return;
    let fromStep = t.storedStep;
    if (stored !== FAILED) {
      if (stored?.status !== 'pending' || stored.step > t.record.step) {
        this.#untrack(t);
        this.#host.logger.debug({ id }, 'wardcast: escalation ended or taken over elsewhere; not escalating');
        return;
      }
      fromStep = stored.step; // behind ours only when an earlier advance failed to write
    }
    const { record } = t;
    const next = record.step + 1;
    const target = record.chain[next];
    if (target === undefined) {
      await this.#exhaust(t, fromStep);
      return;
    }
    const notificationId = escalatedId(id, next);
    const deadline = Date.now() + target.deadlineMs;
    const advanced: EscalationRecord = { ...record, step: next, deadline };
    this.#aliases.set(notificationId, id); // an ack of the re-sent id counts from the moment it is sent
    const topic = `user:${target.userId}`;
    const { kind, priority, payload } = record;
    let sent: PublishResult | undefined;
    let failure: unknown;
    try {
      sent = await this.#host.publish(topic, { id: notificationId, kind, priority, payload });
    } catch (cause) {
      failure = cause;
    }
    if (this.#stopped) return; // the step stays in the store at `fromStep`: the next owner re-sends it (deduped)
    if (!this.#owns(t)) {
      // Acknowledged here while it was being sent.
      if (sent && !sent.duplicate) this.#audit('escalation.step', record, { userId: target.userId, step: next, topic });
      return;
    }
    const outcome = await this.#advance(advanced, fromStep);
    if (this.#stopped) return;
    if (outcome === 'lost') {
      if (this.#owns(t)) this.#untrack(t); // not remembered: another instance may own it now, and may die
      if (sent && !sent.duplicate) {
        // Sent, then acknowledged elsewhere before the advance: the audit trail still shows the send.
        const now = await this.#load(id);
        if (now !== FAILED && now !== undefined && now.status !== 'pending') {
          this.#audit('escalation.step', record, { userId: target.userId, step: next, topic });
        }
      }
      this.#host.logger.debug({ id, step: next }, 'wardcast: escalation step advanced or ended elsewhere');
      return;
    }
    if (this.#owns(t)) {
      t.record = advanced;
      t.storedStep = outcome === 'won' ? next : fromStep;
      this.#arm(t);
    }
    if (failure !== undefined) {
      // The chain goes on at this step's deadline: a failed step must not stall the escalation.
      const code = isWardcastError(failure) ? failure.code : ErrorCode.Internal;
      this.#host.logger.warn({ id, step: next, err: failure }, 'wardcast: escalation step publish failed');
      this.#host.emit('error', new WardcastError(code, 'escalation step could not be published', { cause: failure }));
      this.#audit('escalation.step', record, { userId: target.userId, step: next, topic, code });
      return;
    }
    const at = new Date().toISOString();
    this.#host.emit('escalated', {
      id,
      topic: record.topic,
      step: next,
      userId: target.userId,
      at,
      notificationId,
      deadline: new Date(deadline).toISOString(),
    });
    this.#audit('escalation.step', record, { userId: target.userId, step: next, topic });
  }

  /** The last step's deadline passed: ends it as `unacknowledged` (compare-and-set). */
  async #exhaust(t: Tracked, fromStep: number): Promise<void> {
    const { record } = t;
    // Untracked first: an ack arriving meanwhile goes through the store and loses to this.
    this.#untrack(t);
    this.#remember(record.id);
    const outcome = await this.#advance({ ...record, status: 'unacknowledged' }, fromStep);
    if (outcome === 'lost') return;
    const last = record.chain[record.step]?.userId ?? '';
    const at = new Date().toISOString();
    this.#host.emit('unacknowledged', { id: record.id, topic: record.topic, step: record.step, userId: last, at });
    this.#audit('escalation.exhausted', record, { userId: last, step: record.step });
  }

  /** A user of the chain up to the current step (or the acked re-send's step), or one `authorize` allows on the topic. */
  async #mayAcknowledge(record: EscalationRecord, step: number, sessionId: string, userId: string): Promise<boolean> {
    const upTo = Math.max(record.step, Math.min(step, record.chain.length - 1));
    for (let i = 0; i <= upTo; i++) if (record.chain[i]?.userId === userId) return true;
    try {
      return (await this.#host.mayAcknowledge(sessionId, userId, record.topic)) === true;
    } catch (cause) {
      this.#host.logger.warn({ sessionId, err: cause }, 'wardcast: authorize threw while checking an ack');
      return false;
    }
  }

  /** Reads a record after this instance's queued writes to it; `FAILED` (reported) when the store threw. */
  async #load(id: string): Promise<Loaded> {
    try {
      return await this.#serial(id, () => this.#store.load(id));
    } catch (cause) {
      this.#storeFailed('load', cause);
      return FAILED;
    }
  }

  async #acknowledge(record: EscalationRecord, userId: string): Promise<CasOutcome> {
    const store = this.#store;
    try {
      const ended = await this.#serial(record.id, async () => {
        if (store.acknowledge) return (await store.acknowledge(record.id, userId)) === true;
        await store.save({ ...record, status: 'acknowledged', acknowledgedBy: userId });
        return true;
      });
      return ended ? 'won' : 'lost';
    } catch (cause) {
      this.#storeFailed('acknowledge', cause);
      return 'failed';
    }
  }

  async #advance(next: EscalationRecord, fromStep: number): Promise<CasOutcome> {
    const store = this.#store;
    try {
      const done = await this.#serial(next.id, async () => {
        if (store.advance) return (await store.advance(next, fromStep)) === true;
        await store.save(next);
        return true;
      });
      return done ? 'won' : 'lost';
    } catch (cause) {
      this.#storeFailed(next.status === 'pending' ? 'advance' : 'save', cause);
      return 'failed';
    }
  }

  /** Runs `op` after every store call queued for record `id`; its result (or error) is the caller's. */
  #serial<T>(id: string, op: () => T | Promise<T>): Promise<T> {
    const previous = this.#writes.get(id) ?? Promise.resolve();
    const result = previous.then(op);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.#writes.set(id, tail);
    void tail.then(() => {
      if (this.#writes.get(id) === tail) this.#writes.delete(id);
    });
    return result;
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
