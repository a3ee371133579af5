import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import type { Broker } from '../broker/types.js';
import type { EscalationPolicy } from '../escalation/types.js';
import type { AppendResult, HistoryStore } from '../history/types.js';
import type { Logger } from './logger.js';
import type { Counters } from './session-host.js';
import { isThenable } from './steps.js';
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

/** The context of a publish without an escalation policy (the usual case): one object for all of them. */
export const NO_ESCALATION: PublishContext = Object.freeze({ escalation: undefined });

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
 * The one ordered path of every notification, readable top to bottom in {@link PublishPipeline.run}
 * and its `#step`:
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
   * Runs a validated draft through every step. A step that answers synchronously (the memory
   * history store and broker, stages without I/O) is not awaited: a publish through them runs
   * from append to fan-out in one go and returns its result, not a promise; it registers as in
   * flight, and continues asynchronously, only from the first step that has to wait.
   * @throws {WardcastError} `store_unavailable` and stage errors (as a rejected promise once the
   *   publish went asynchronous)
   */
  run(draft: NotificationDraft, context: PublishContext): PublishResult | Promise<PublishResult> {
    const appended = this.#append(draft, context);
    if (appended instanceof Promise) return appended.then((a) => this.#afterAppend(a, context));
    return this.#afterAppend(appended, context);
  }

  /** Resolves once this instance has no publish to `topic` between append and fan-out that started before. */
  async settled(topic: string): Promise<void> {
    const pending = this.#inFlight.get(topic);
    if (pending) await Promise.all(pending.values());
  }

  #afterAppend(appended: AppendResult, context: PublishContext): PublishResult | Promise<PublishResult> {
    const { notification: n, duplicate } = appended;
    const { counters } = this.#host;
    if (duplicate) {
      counters.duplicates++;
      return { id: n.id, epoch: n.epoch, seq: n.seq, duplicate: true };
    }
    const p = new Publish(n, context);
    let waiting: PromiseLike<unknown> | undefined;
    try {
      waiting = this.#steps(p);
    } catch (cause) {
      return this.#failed(p, cause);
    }
    if (waiting !== undefined) return this.#wait(p, waiting);
    counters.published++;
    return { id: n.id, epoch: n.epoch, seq: n.seq, duplicate: false };
  }

  /**
   * Runs the steps of `p` from `p.step` on, until one has to wait: returns what to wait for
   * (`p.step` is then that step, and the publish is registered as in flight, so that every
   * publish that starts meanwhile sees it), or `undefined` once every step is done.
   */
  #steps(p: Publish): PromiseLike<unknown> | undefined {
    for (const last = this.#host.stages.length + 2; p.step <= last; p.step++) {
      const waiting = this.#step(p);
      if (waiting !== undefined) {
        p.finished ??= this.#begin(p.notification);
        return waiting;
      }
    }
    return undefined;
  }

  /**
   * Runs step `p.step`: each stage in order, then waiting for this instance's earlier seqs of the
   * topic, the commit, and the broker's fan-out. Returns what to wait for when it did not finish.
   */
  #step(p: Publish): PromiseLike<unknown> | undefined {
    const { stages, broker } = this.#host;
    const i = p.step;
    if (i < stages.length) {
      const ran = (stages[i] as PublishStage).run(p.notification, p.context);
      return isThenable(ran) ? ran : undefined;
    }
    // Commits go in seq order: wait for this instance's publishes of lower seqs.
    if (i === stages.length) return this.#earlier(p.notification);
    if (i === stages.length + 1) return this.#commit(p);
    const sent = broker.publish(p.notification);
    return isThenable(sent) ? sent : undefined;
  }

  /** Finishes a publish that has to wait for a step: waits, then runs the steps after it. */
  async #wait(p: Publish, waiting: PromiseLike<unknown>): Promise<PublishResult> {
    try {
      for (let w: PromiseLike<unknown> | undefined = waiting; w !== undefined; w = this.#steps(p)) {
        await w;
        p.step++;
      }
    } catch (cause) {
      // Ends the in-flight registration itself, once the abandon is done.
      return this.#failed(p, cause);
    }
    p.finished?.();
    this.#host.counters.published++;
    const n = p.notification;
    return { id: n.id, epoch: n.epoch, seq: n.seq, duplicate: false };
  }

  /**
   * A step of `p` threw: before the commit, nobody got the notification (the stages that ran are
   * reverted, the seq given up); after it, the error says what is known. Always rejects.
   */
  async #failed(p: Publish, thrown: unknown): Promise<never> {
    const { stages } = this.#host;
    const stage = p.step < stages.length ? stages[p.step] : undefined;
    let cause = thrown;
    if (stage !== undefined && !isWardcastError(thrown)) {
      cause = unavailable(`publish stage ${stage.name} failed; not published`, thrown);
    } else if (p.step === stages.length + 2 && p.committed) {
      // Committed: resuming clients get it from history; live ones may miss it until they resume.
      cause = unavailable('stored, but the broker failed to fan it out', thrown);
    }
    try {
      if (!p.committed) {
        p.finished ??= this.#begin(p.notification);
        await this.#abandon(p);
      }
    } finally {
      p.finished?.();
      p.finished = undefined;
    }
    throw isWardcastError(cause) ? cause : unavailable('publish failed; not published', cause);
  }

  /** Appends in the store, once the broker started; synchronous when both are. */
  #append(draft: NotificationDraft, context: PublishContext): AppendResult | Promise<AppendResult> {
    const host = this.#host;
    const options = nothingToDo(host.stages, draft, context) ? COMMIT_AT_ONCE : undefined;
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
  #commit(p: Publish): Promise<void> | undefined {
    const { history } = this.#host;
    let committing: void | Promise<void> | undefined;
    try {
      committing = history.commit?.(p.notification);
    } catch (cause) {
      return this.#commitFailed(p, cause);
    }
    if (!isThenable(committing)) {
      p.committed = true;
      return undefined;
    }
    return Promise.resolve(committing).then(
      () => {
        p.committed = true;
      },
      (cause: unknown) => this.#commitFailed(p, cause),
    );
  }

  async #commitFailed(p: Publish, cause: unknown): Promise<void> {
    const { history } = this.#host;
    let abandoned: boolean | undefined;
    try {
      abandoned = (await history.abort?.(p.notification)) !== false;
    } catch {
      abandoned = undefined;
    }
    // From here on nothing may be reverted or given up any more.
    if (abandoned === false) {
      // The commit went through after all (its answer was lost): it is delivered.
      p.committed = true;
      return;
    }
    if (abandoned === true) await this.#revert(p);
    // Unknown: the side effects stay (an inbox row for a notification that may have gone out
    // is better than a delivered one without), and the error says so.
    p.committed = true;
    throw unavailable(
      abandoned
        ? 'history store refused the commit; not published'
        : 'history store failed at commit; delivery unknown',
      cause,
    );
  }

  /** A step failed before the commit: nobody got the notification; undo what ran, give the seq up. */
  async #abandon(p: Publish): Promise<void> {
    await this.#revert(p);
    try {
      await this.#host.history.abort?.(p.notification);
    } catch (cause) {
      // The reservation expires on its own.
      this.#host.logger.warn({ err: cause, topic: p.notification.topic }, 'wardcast: history abort failed');
    }
  }

  /** Reverts the stages that ran for `p` (those before its current step), newest first. */
  async #revert(p: Publish): Promise<void> {
    const { stages } = this.#host;
    for (let i = Math.min(p.step, stages.length) - 1; i >= 0; i--) {
      const stage = stages[i] as PublishStage;
      try {
        await stage.revert?.(p.notification, p.context);
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
    // Nothing in flight anywhere (every publish so far finished synchronously): no lookup.
    if (this.#inFlight.size === 0) return undefined;
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

/** Where one appended publish is in the pipeline. */
class Publish {
  readonly notification: StoredNotification;
  readonly context: PublishContext;
  /**
   * The step running or next to run (see `PublishPipeline#step`): stage `i` for `i` below
   * the number of stages, then the wait for earlier seqs, the commit, the fan-out, and past those,
   * done. The stages before it ran.
   */
  step = 0;
  /** Set once the store committed the notification (or may have): nothing is reverted or given up after. */
  committed = false;
  /** Ends its registration in flight; set from the first step that waits. */
  finished: (() => void) | undefined = undefined;

  constructor(notification: StoredNotification, context: PublishContext) {
    this.notification = notification;
    this.context = context;
  }
}

/** Whether no stage has work for the publish (every `applies` answers `false`). */
function nothingToDo(stages: readonly PublishStage[], draft: NotificationDraft, context: PublishContext): boolean {
  for (const stage of stages) if (stage.applies?.(draft, context) !== false) return false;
  return true;
}

/** A history store failure at append: nothing was stored. */
function appendFailed(cause: unknown): never {
  if (isWardcastError(cause)) throw cause;
  throw unavailable('history store failed; not published', cause);
}

/** No stage has work for the publish: the store may commit it at append. */
const COMMIT_AT_ONCE = { commit: true } as const;
