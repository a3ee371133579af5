import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import type { Broker } from '../broker/types.js';
import type { EscalationPolicy } from '../escalation/types.js';
import type { HistoryStore } from '../history/types.js';
import type { Logger } from './logger.js';
import type { Counters } from './session-host.js';
import type { NotificationDraft, PublishResult, StoredNotification } from './types.js';

/** What a {@link PublishStage} learns about the publish it is part of. */
export interface PublishContext {
  /** The escalation policy passed to `publish`, already checked. */
  readonly escalation: EscalationPolicy | undefined;
}

/**
 * A durable side effect of every publish: runs after the history store gave the notification its
 * `(epoch, seq)` and before anyone receives it. The hub's own stages record the inbox row (user
 * topics) and register the escalation (critical notifications with a policy); pass more with the
 * hub's `publishStages` option (an audit table, an outbox).
 *
 * When `run` throws, the publish rejects and nobody receives the notification: the stages that
 * already ran are reverted, newest first.
 *
 * @example
 * ```ts
 * const auditStage: PublishStage = {
 *   name: 'audit',
 *   run: (n) => db.query('INSERT INTO sent (id, topic) VALUES ($1, $2)', [n.id, n.topic]),
 *   revert: (n) => db.query('DELETE FROM sent WHERE id = $1', [n.id]),
 * };
 * const hub = new NotificationHub({ authenticate, publishStages: [auditStage] });
 * ```
 */
export interface PublishStage {
  /** For logs and errors. */
  readonly name: string;
  /** Commits the side effect. Throw to refuse the publish. */
  run(notification: StoredNotification, context: PublishContext): Promise<void> | void;
  /** Undoes `run` when the publish is abandoned after it. Best effort: failures are logged. */
  revert?(notification: StoredNotification, context: PublishContext): Promise<void> | void;
}

/** What the pipeline needs from its hub. */
export interface PipelineHost {
  readonly history: HistoryStore;
  readonly broker: Broker;
  readonly stages: readonly PublishStage[];
  readonly counters: Counters;
  readonly logger: Logger;
  /** Resolves once the broker started (publishes wait for it). */
  readonly brokerReady: Promise<void>;
  /** Reports a failure that did not fail the publish (a revert that failed). */
  error(error: WardcastError): void;
}

const unavailable = (message: string, cause?: unknown): WardcastError =>
  new WardcastError(ErrorCode.StoreUnavailable, message, cause === undefined ? undefined : { cause });

/**
 * The one ordered path of every notification, readable top to bottom in {@link PublishPipeline.run}:
 *
 * ```
 * validate (done by the caller)
 *   -> append: the history store assigns (epoch, seq) and dedupes by id
 *   -> stages: durable side effects (inbox row, escalation registration, publishStages)
 *   -> commit: the store makes it visible, after every earlier seq of the topic
 *   -> fan-out on every instance (broker)
 *   -> resolve { id, epoch, seq }
 * ```
 *
 * Invariant: nobody on any instance receives a notification before its stages committed; a publish
 * that rejects was delivered to no one (or, when the store cannot say, its side effects are kept
 * and the error says so); a publish that resolved reaches every current subscriber, or that
 * subscriber gets an explicit gap.
 */
export class PublishPipeline {
  readonly #host: PipelineHost;
  /** Topic -> this instance's publishes between append and fan-out, with their settle promises. */
  readonly #inFlight = new Map<string, Map<StoredNotification, Promise<void>>>();

  constructor(host: PipelineHost) {
    this.#host = host;
  }

  /** Runs a validated draft through every stage. @throws {WardcastError} `store_unavailable` and stage errors */
  async run(draft: NotificationDraft, context: PublishContext): Promise<PublishResult> {
    const host = this.#host;
    const n = await this.#append(draft);
    if (n.duplicate) {
      host.counters.duplicates++;
      return { id: n.notification.id, epoch: n.notification.epoch, seq: n.notification.seq, duplicate: true };
    }
    const stored = n.notification;
    const finished = this.#begin(stored);
    const done: PublishStage[] = [];
    try {
      for (const stage of host.stages) {
        try {
          await stage.run(stored, context);
        } catch (cause) {
          throw isWardcastError(cause)
            ? cause
            : unavailable(`publish stage ${stage.name} failed; not published`, cause);
        }
        done.push(stage);
      }
      await this.#earlier(stored);
      await this.#commit(stored, done, context);
      try {
        await host.broker.publish(stored);
      } catch (cause) {
        // Committed: resuming clients get it from history; live ones may miss it until they resume.
        throw unavailable('stored, but the broker failed to fan it out', cause);
      }
    } catch (cause) {
      if (!done.includes(COMMITTED)) await this.#abandon(stored, done, context);
      throw isWardcastError(cause) ? cause : unavailable('publish failed; not published', cause);
    } finally {
      finished();
    }
    host.counters.published++;
    return { id: stored.id, epoch: stored.epoch, seq: stored.seq, duplicate: false };
  }

  /** Resolves once this instance has no publish to `topic` between append and fan-out that started before. */
  async settled(topic: string): Promise<void> {
    const pending = this.#inFlight.get(topic);
    if (pending) await Promise.all(pending.values());
  }

  async #append(draft: NotificationDraft) {
    const host = this.#host;
    try {
      await host.brokerReady;
      return await host.history.append(draft);
    } catch (cause) {
      if (isWardcastError(cause)) throw cause;
      throw unavailable('history store failed; not published', cause);
    }
  }

  /** Commits in the store. On failure, finds out whether it was delivered anyway. */
  async #commit(n: StoredNotification, done: PublishStage[], context: PublishContext): Promise<void> {
    const { history } = this.#host;
    try {
      await history.commit?.(n);
      done.push(COMMITTED);
      return;
    } catch (cause) {
      let abandoned: boolean | undefined;
      try {
        abandoned = (await history.abort?.(n)) !== false;
      } catch {
        abandoned = undefined;
      }
      if (abandoned === false) {
        // The commit went through after all (its answer was lost): it is delivered.
        done.push(COMMITTED);
        return;
      }
      if (abandoned === true) await this.#revert(n, done, context);
      // Unknown: the side effects stay (an inbox row for a notification that may have gone out
      // is better than a delivered one without), and the error says so.
      done.push(COMMITTED);
      throw unavailable(
        abandoned
          ? 'history store refused the commit; not published'
          : 'history store failed at commit; delivery unknown',
        cause,
      );
    }
  }

  /** A stage failed before the commit: nobody got the notification; undo what ran, give the seq up. */
  async #abandon(n: StoredNotification, done: PublishStage[], context: PublishContext): Promise<void> {
    await this.#revert(n, done, context);
    try {
      await this.#host.history.abort?.(n);
    } catch (cause) {
      // The reservation expires on its own.
      this.#host.logger.warn({ err: cause, topic: n.topic }, 'wardcast: history abort failed');
    }
  }

  async #revert(n: StoredNotification, done: PublishStage[], context: PublishContext): Promise<void> {
    for (const stage of [...done].reverse()) {
      try {
        await stage.revert?.(n, context);
      } catch (cause) {
        this.#host.logger.warn({ err: cause, stage: stage.name }, 'wardcast: publish stage revert failed');
        this.#host.error(unavailable(`publish stage ${stage.name} could not be reverted`, cause));
      }
    }
  }

  /** Waits for this instance's publishes to the same stream with a lower seq: commits go in seq order. */
  async #earlier(n: StoredNotification): Promise<void> {
    const pending = this.#inFlight.get(n.topic);
    if (!pending || pending.size === 1) return;
    const before: Promise<void>[] = [];
    for (const [m, settled] of pending) if (m.epoch === n.epoch && m.seq < n.seq) before.push(settled);
    if (before.length > 0) await Promise.all(before);
  }

  #begin(n: StoredNotification): () => void {
    let pending = this.#inFlight.get(n.topic);
    if (!pending) {
      pending = new Map();
      this.#inFlight.set(n.topic, pending);
    }
    const map = pending;
    let end = (): void => {};
    map.set(
      n,
      new Promise<void>((resolve) => {
        end = resolve;
      }),
    );
    return () => {
      end();
      map.delete(n);
      if (map.size === 0 && this.#inFlight.get(n.topic) === map) this.#inFlight.delete(n.topic);
    };
  }
}

/** Marker in the list of done stages: the store committed (nothing may be reverted any more). */
const COMMITTED: PublishStage = { name: 'commit', run() {} };
