import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import type { Broker } from '../broker/types.js';
import type { EscalationPolicy } from '../escalation/types.js';
import type { AppendResult, HistoryStore } from '../history/types.js';
import type { Logger } from './logger.js';
import type { Counters } from './session-host.js';
import type { NotificationDraft, PublishResult, StoredNotification } from './types.js';

/**
 * What a {@link PublishStage} learns about the publish it is part of.
 *
 * @category Publishing
 */
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
 *
 * @category Publishing
 */
export interface PublishStage {
  /** For logs and errors. */
  readonly name: string;
  /** Commits the side effect. Throw to refuse the publish. */
  run(notification: StoredNotification, context: PublishContext): Promise<void> | void;
  /** Undoes `run` when the publish is abandoned after it. Best effort: failures are logged. */
  revert?(notification: StoredNotification, context: PublishContext): Promise<void> | void;
  /**
   * `false` when `run` has nothing to do for this publish. When no stage has, nothing can fail
   * between append and commit, and the history store may do both in one step (`commit: true`).
   * @default true
   */
  applies?(draft: NotificationDraft, context: PublishContext): boolean;
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
  /** Set once `brokerReady` resolved: publishes then stop waiting for it. */
  #brokerStarted = false;

  constructor(host: PipelineHost) {
    this.#host = host;
    host.brokerReady.then(
      () => {
        this.#brokerStarted = true;
      },
      () => {},
    );
  }

  /**
   * Runs a validated draft through every stage. A step that answers synchronously (the memory
   * history store and broker, stages without I/O) is not awaited: a publish through them runs
   * from append to fan-out in one go, and registers as in flight only when it has to wait.
   * @throws {WardcastError} `store_unavailable` and stage errors
   */
  async run(draft: NotificationDraft, context: PublishContext): Promise<PublishResult> {
    const host = this.#host;
    const appended = this.#append(draft, context);
    const n = isThenable(appended) ? await appended : appended;
    if (n.duplicate) {
      host.counters.duplicates++;
      return { id: n.notification.id, epoch: n.notification.epoch, seq: n.notification.seq, duplicate: true };
    }
    const stored = n.notification;
    // Registered in #inFlight (`finished ??= this.#begin(stored)`) before the first await, so that
    // every publish that starts meanwhile sees it.
    let finished: (() => void) | undefined;
    const done: PublishStage[] = [];
    try {
      const { stages } = host;
      for (let i = 0; i < stages.length; i++) {
        const stage = stages[i] as PublishStage;
        try {
          const ran = stage.run(stored, context);
          if (isThenable(ran)) {
            finished ??= this.#begin(stored);
            await ran;
          }
        } catch (cause) {
          throw isWardcastError(cause)
            ? cause
            : unavailable(`publish stage ${stage.name} failed; not published`, cause);
        }
        done.push(stage);
      }
      const earlier = this.#earlier(stored);
      if (earlier) {
        finished ??= this.#begin(stored);
        await earlier;
      }
      const committing = this.#commit(stored, done, context);
      if (committing) {
        finished ??= this.#begin(stored);
        await committing;
      }
      try {
        const sent = host.broker.publish(stored);
        if (isThenable(sent)) {
          finished ??= this.#begin(stored);
          await sent;
        }
      } catch (cause) {
        // Committed: resuming clients get it from history; live ones may miss it until they resume.
        throw unavailable('stored, but the broker failed to fan it out', cause);
      }
    } catch (cause) {
      if (!done.includes(COMMITTED)) {
        finished ??= this.#begin(stored);
        await this.#abandon(stored, done, context);
      }
      throw isWardcastError(cause) ? cause : unavailable('publish failed; not published', cause);
    } finally {
      finished?.();
    }
    host.counters.published++;
    return { id: stored.id, epoch: stored.epoch, seq: stored.seq, duplicate: false };
  }

  /** Resolves once this instance has no publish to `topic` between append and fan-out that started before. */
  async settled(topic: string): Promise<void> {
    const pending = this.#inFlight.get(topic);
    if (pending) await Promise.all(pending.values());
  }

  /** Appends in the store, once the broker started; synchronous when both are. */
  #append(draft: NotificationDraft, context: PublishContext): AppendResult | Promise<AppendResult> {
    const host = this.#host;
    const options = host.stages.every((s) => s.applies?.(draft, context) === false) ? COMMIT_AT_ONCE : undefined;
    if (!this.#brokerStarted) {
      return host.brokerReady.then(() => host.history.append(draft, options)).catch(appendFailed);
    }
    let appended: AppendResult | Promise<AppendResult>;
    try {
      appended = host.history.append(draft, options);
    } catch (cause) {
      return appendFailed(cause);
    }
    return isThenable(appended) ? Promise.resolve(appended).catch(appendFailed) : appended;
  }

  /**
   * Commits in the store; `undefined` when that is done already (a synchronous store). On
   * failure, finds out whether it was delivered anyway.
   */
  #commit(n: StoredNotification, done: PublishStage[], context: PublishContext): Promise<void> | undefined {
    const { history } = this.#host;
    let committing: void | Promise<void> | undefined;
    try {
      committing = history.commit?.(n);
    } catch (cause) {
      return this.#commitFailed(n, done, context, cause);
    }
    if (!isThenable(committing)) {
      done.push(COMMITTED);
      return undefined;
    }
    return Promise.resolve(committing).then(
      () => {
        done.push(COMMITTED);
      },
      (cause: unknown) => this.#commitFailed(n, done, context, cause),
    );
  }

  async #commitFailed(n: StoredNotification, done: PublishStage[], context: PublishContext, cause: unknown) {
    const { history } = this.#host;
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

  /**
   * This instance's publishes to the same stream with a lower seq that are still between append
   * and fan-out: commits go in seq order. `undefined` when there are none.
   */
  #earlier(n: StoredNotification): Promise<unknown> | undefined {
    const pending = this.#inFlight.get(n.topic);
    if (!pending) return undefined;
    let before: Promise<void>[] | undefined;
    for (const [m, settled] of pending) {
      if (m === n || m.epoch !== n.epoch || m.seq >= n.seq) continue;
      before ??= [];
      before.push(settled);
    }
    return before && Promise.all(before);
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

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** A history store failure at append: nothing was stored. */
function appendFailed(cause: unknown): never {
  if (isWardcastError(cause)) throw cause;
  throw unavailable('history store failed; not published', cause);
}

/** No stage has work for the publish: the store may commit it at append. */
const COMMIT_AT_ONCE = { commit: true } as const;

/** Marker in the list of done stages: the store committed (nothing may be reverted any more). */
const COMMITTED: PublishStage = { name: 'commit', run() {} };
