import {
  ErrorCode,
  type PhiLevel,
  type StreamPosition,
  type SubscribeTopic,
  type SubscriptionResult,
} from '@wardcast/protocol';
import type { ReadResult } from '../history/types.js';
import { joinTopic, leaveTopic } from './presence.js';
import type { Session } from './session.js';
import type { SessionHost } from './session-host.js';
import { isThenable } from './steps.js';
import { authorizes, denied, lowerLevel, policyLevel } from './topic-policy.js';
import type { Principal, StoredNotification } from './types.js';

interface Accepted {
  readonly index: number;
  readonly topic: string;
  readonly since: StreamPosition | undefined;
  readonly level: PhiLevel;
  /** The subscribe asked for unread inbox notifications, on the principal's own user topic. */
  readonly unread: boolean;
  read: ReadResult | undefined;
  /** Unread inbox notifications to replay (when `unread` and history could not cover the gap). */
  inbox: readonly StoredNotification[] | undefined;
}

/**
 * Runs one `subscribe` frame for a session: authorizes each topic, joins it in syncing mode
 * (live notifications are buffered), reads history, then, in one synchronous step, replays
 * what the client missed, flushes the buffer and goes live. Returns the per-topic results in
 * request order, or `undefined` if the session closed meanwhile. Synchronous (no promise, no
 * turn of the microtask queue) when `authorize`, `phiLevel` and the history store answer
 * synchronously and no unread inbox replay is asked for; a promise as soon as one of them returns one.
 */
export function subscribeTopics(
  host: SessionHost<Session>,
  session: Session,
  principal: Principal,
  requested: readonly SubscribeTopic[],
): SubscriptionResult[] | undefined | Promise<SubscriptionResult[] | undefined> {
  return new SubscribeRun(host, session, principal, requested).run();
}

/**
 * The topics of a frame, each once: where a frame names a topic twice, the last entry, at the
 * first one's place. A frame of one topic (every connect of a client with one) as it is.
 */
function uniqueTopics(requested: readonly SubscribeTopic[]): readonly SubscribeTopic[] {
  if (requested.length === 1) return requested;
  const unique = new Map<string, SubscribeTopic>();
  for (const t of requested) unique.set(t.topic, t);
  return [...unique.values()];
}

/** The `notifications` of a fresh subscription's read: none, shared. */
const NO_NOTIFICATIONS: readonly StoredNotification[] = Object.freeze([]);

/** What a step of a {@link SubscribeRun} tells its driver: go on. */
const GO = 0;
/** ... wait for the thenable it stored, then resume where it said. */
const WAIT = 1;
/** ... the session closed meanwhile: the run ends with `undefined`. */
const CLOSED = 2;
type Step = typeof GO | typeof WAIT | typeof CLOSED;

/** Where a waiting run resumes: with `authorize`'s verdict, `phiLevel`'s level, history's answer, the inbox's. */
const AT_VERDICT = 1;
const AT_LEVEL = 2;
const AT_READ = 3;
const AT_INBOX = 4;

type Results = SubscriptionResult[] | undefined;

/**
 * {@link subscribeTopics}, as an async function would run it, written out: each place where it
 * would `await` waits only for a thenable (a plain answer goes on at once), so with synchronous
 * hooks and history the run ends in the call that starts it. Two passes over the topics
 * (authorize, join; then read history and, when asked, the unread inbox), then the synchronous
 * finish. Where it waits it keeps what it needs in this one object (a generator kept two:
 * itself and every local it has, whether it waits or not).
 */
class SubscribeRun {
  readonly #host: SessionHost<Session>;
  readonly #session: Session;
  readonly #principal: Principal;
  readonly #topics: readonly SubscribeTopic[];
  /** One per topic, in request order; every one is written before the end. */
  readonly #results: SubscriptionResult[];
  /** The topics the first pass joined; the first {@link SubscribeRun.#count} are set. */
  readonly #accepted: Accepted[];
  #count = 0;
  /** The topic the first pass is at. */
  #t = 0;
  /** The accepted topic the second pass is at. */
  #i = 0;
  /** Where to resume once {@link SubscribeRun.#awaited} settles. */
  #at = 0;
  #awaited: PromiseLike<unknown> | undefined = undefined;

  constructor(
    host: SessionHost<Session>,
    session: Session,
    principal: Principal,
    requested: readonly SubscribeTopic[],
  ) {
    this.#host = host;
    this.#session = session;
    this.#principal = principal;
    this.#topics = uniqueTopics(requested);
    // Sized once (an array grown from empty gets room for 17).
    this.#results = new Array(this.#topics.length);
    this.#accepted = new Array(this.#topics.length);
  }

  /** The results (`undefined`: the session closed), at once when nothing was awaited, else a promise of them. */
  run(): Results | Promise<Results> {
    return this.#drive(this.#passes());
  }

  #drive(step: Step): Results | Promise<Results> {
    if (step === CLOSED) return undefined;
    if (step === GO) return this.#finish();
    const awaited = this.#awaited as PromiseLike<unknown>;
    this.#awaited = undefined;
    return Promise.resolve(awaited).then(
      (value) => this.#drive(this.#resume(value, false)),
      (cause: unknown) => this.#drive(this.#resume(cause, true)),
    );
  }

  #wait(thenable: PromiseLike<unknown>, at: number): Step {
    this.#awaited = thenable;
    this.#at = at;
    return WAIT;
  }

  /** Goes on where the run waited, with what the thenable settled to (`failed`: what it rejected with). */
  #resume(value: unknown, failed: boolean): Step {
    const at = this.#at;
    this.#at = 0;
    let step: Step;
    if (at === AT_READ) step = this.#onRead(value, failed);
    else if (at === AT_INBOX) step = this.#onInbox(value, failed);
    // `authorize` and `phiLevel` are wrapped so that they never reject; were one to, the run rejects.
    else if (failed) throw value;
    else step = at === AT_VERDICT ? this.#onVerdict(value) : this.#onLevel(value);
    if (step !== GO) return step;
    if (at === AT_VERDICT || at === AT_LEVEL) this.#t++;
    else this.#i++;
    return this.#passes();
  }

  /** The first pass from topic `#t`, then the second from accepted topic `#i`. */
  #passes(): Step {
    for (; this.#t < this.#topics.length; this.#t++) {
      const step = this.#authorize();
      if (step !== GO) return step;
    }
    for (; this.#i < this.#count; this.#i++) {
      const step = this.#read();
      if (step !== GO) return step;
    }
    return GO;
  }

  /** Topic `#t`: the subscription limit, then `authorize`. */
  #authorize(): Step {
    const host = this.#host;
    const session = this.#session;
    const { topic } = this.#topics[this.#t] as SubscribeTopic;
    if (!session.topics.has(topic) && session.topics.size >= host.limits.maxSubscriptions) {
      this.#results[this.#t] = denied(topic, ErrorCode.TooManySubscriptions);
      host.emit('denied', { ...session.info(), topic, code: ErrorCode.TooManySubscriptions });
      return GO;
    }
    // A subscribe fails closed: an `authorize` that throws denies.
    const verdict = authorizes(host, this.#principal, topic, 'denying');
    return isThenable(verdict) ? this.#wait(verdict, AT_VERDICT) : this.#onVerdict(verdict);
  }

  /** `authorize`'s verdict on topic `#t`: denied, or `phiLevel` asked. */
  #onVerdict(verdict: unknown): Step {
    const host = this.#host;
    const session = this.#session;
    const { topic } = this.#topics[this.#t] as SubscribeTopic;
    if (verdict !== true) {
      if (!session.isOpen) return CLOSED;
      if (session.topics.delete(topic)) leaveTopic(host, session, topic);
      this.#results[this.#t] = denied(topic, ErrorCode.TopicDenied);
      host.emit('denied', { ...session.info(), topic, code: ErrorCode.TopicDenied });
      host.audit('subscribe.denied', session, { topic, code: ErrorCode.TopicDenied });
      return GO;
    }
    const policy = policyLevel(host, this.#principal, topic, 'using empty');
    return isThenable(policy) ? this.#wait(policy, AT_LEVEL) : this.#onLevel(policy);
  }

  /** What `phiLevel` allows for topic `#t`: the topic joined (syncing) at the lower of it and what the client asked. */
  #onLevel(policy: unknown): Step {
    const session = this.#session;
    const { topic, since, phi, unread } = this.#topics[this.#t] as SubscribeTopic;
    const level = lowerLevel(policy as PhiLevel | undefined, phi);
    if (!session.isOpen) return CLOSED;
    session.topics.set(topic, level);
    joinTopic(this.#host, session, topic);
    // Every field from the start: an entry that gained `read` later would change hidden class,
    // and V8 drops an unused one at each full collection, with the code that expects it.
    const mine = unread === true && topic === `user:${this.#principal.userId}`;
    this.#accepted[this.#count++] = {
      index: this.#t,
      topic,
      since,
      level,
      unread: mine,
      read: undefined,
      inbox: undefined,
    };
    return GO;
  }

  /** Accepted topic `#i`: what history holds since the client's position, or the topic's position now. */
  #read(): Step {
    const a = this.#accepted[this.#i] as Accepted;
    const history = this.#host.history;
    let answer: unknown;
    try {
      answer = a.since ? history.read(a.topic, a.since) : history.position(a.topic);
    } catch (cause) {
      return this.#onRead(cause, true);
    }
    return isThenable(answer) ? this.#wait(answer, AT_READ) : this.#onRead(answer, false);
  }

  /** History's answer for accepted topic `#i` (`failed`: the error); then, when asked, the unread inbox. */
  #onRead(answer: unknown, failed: boolean): Step {
    const host = this.#host;
    const a = this.#accepted[this.#i] as Accepted;
    if (failed) host.logger.error({ topic: a.topic, err: answer }, 'wardcast: history read failed');
    else if (a.since) a.read = answer as ReadResult;
    else a.read = { recovered: false, notifications: NO_NOTIFICATIONS, position: answer as ReadResult['position'] };
    if (!this.#session.isOpen) return CLOSED;
    if (!a.unread || !a.read || a.read.recovered) return GO;
    // After the position read: see `unreadReplay`. A failing inbox only costs the replay.
    let inbox: unknown;
    try {
      inbox = host.unreadReplay(this.#principal.userId, a.topic);
    } catch (cause) {
      return this.#onInbox(cause, true);
    }
    return isThenable(inbox) ? this.#wait(inbox, AT_INBOX) : this.#onInbox(inbox, false);
  }

  /** The unread inbox notifications of accepted topic `#i` (`failed`: the error). */
  #onInbox(inbox: unknown, failed: boolean): Step {
    const a = this.#accepted[this.#i] as Accepted;
    if (failed) {
      this.#host.logger.warn({ topic: a.topic, err: inbox }, 'wardcast: inbox read for the unread replay failed');
    } else a.inbox = inbox as readonly StoredNotification[] | undefined;
    return this.#session.isOpen ? GO : CLOSED;
  }

  /** In one synchronous step: replay, flush what was buffered, go live; the results. */
  #finish(): Results {
    const host = this.#host;
    const session = this.#session;
    const results = this.#results;
    for (let i = 0; i < this.#count; i++) {
      const a = this.#accepted[i] as Accepted;
      if (!session.isOpen) return undefined;
      const read = a.read;
      if (!read) {
        session.topics.delete(a.topic);
        leaveTopic(host, session, a.topic);
        results[a.index] = denied(a.topic, ErrorCode.StoreUnavailable);
        continue;
      }
      const buffered = host.registry.goLive(a.topic, session, a.level);
      const missed = a.inbox ? inboxReplay(a.inbox, read.position, a.since) : read.notifications;
      const position = replay(host, session, a.level, missed, buffered, read.position, a.inbox && missed);
      const { topic, level } = a;
      const { recovered } = read;
      results[a.index] =
        level === 'full'
          ? { topic, status: 'ok', recovered, position }
          : { topic, status: 'ok', recovered, position, phi: level };
      if (host.wants('subscribe')) host.emit('subscribe', { ...session.info(), topic: a.topic, recovered });
    }
    return results;
  }
}

/**
 * What to replay of a user's unread inbox notifications, in order: those the resume point
 * `since` already covers (same epoch, seq up to it) and those after `position` (they arrive
 * buffered or live) are left out; older epochs come first (by their first notification), the
 * current one last, each in seq order.
 */
export function inboxReplay(
  unread: readonly StoredNotification[],
  position: StreamPosition,
  since: StreamPosition | undefined,
): StoredNotification[] {
  const kept = unread.filter(
    (n) =>
      !(n.epoch === position.epoch && n.seq > position.seq) &&
      !(since && n.epoch === since.epoch && n.seq <= since.seq),
  );
  const firstAt = new Map<string, string>();
  for (const n of kept) {
    const first = firstAt.get(n.epoch);
    if (first === undefined || n.createdAt < first) firstAt.set(n.epoch, n.createdAt);
  }
  const rank = (epoch: string): string => (epoch === position.epoch ? '\uffff' : (firstAt.get(epoch) ?? ''));
  return kept.sort((x, y) => {
    if (x.epoch === y.epoch) return x.seq - y.seq;
    const rx = rank(x.epoch);
    const ry = rank(y.epoch);
    if (rx !== ry) return rx < ry ? -1 : 1;
    return x.epoch < y.epoch ? -1 : 1;
  });
}

function replay(
  host: SessionHost<Session>,
  session: Session,
  level: PhiLevel,
  missed: readonly StoredNotification[],
  buffered: readonly StoredNotification[],
  position: StreamPosition,
  /** Replayed from the inbox: a buffered notification with one of their ids is not sent again. */
  fromInbox?: readonly StoredNotification[],
): StreamPosition {
  const replayed = fromInbox && fromInbox.length > 0 ? new Set(fromInbox.map((n) => n.id)) : undefined;
  let end = position;
  // Session.write checks the send buffer before every frame: a replay can never queue more than
  // one frame past the limit.
  for (let i = 0; i < missed.length; i++)
    if (!deliverOne(host, session, level, missed[i] as StoredNotification)) return end;
  for (let i = 0; i < buffered.length; i++) {
    const n = buffered[i] as StoredNotification;
    if ((n.epoch !== position.epoch || n.seq > position.seq) && !replayed?.has(n.id)) {
      if (!deliverOne(host, session, level, n)) return end;
      end = { epoch: n.epoch, seq: n.seq };
    }
  }
  return end;
}

/** Sends one replayed notification to `session` at `level`; `false` when it was not written. */
function deliverOne(host: SessionHost<Session>, session: Session, level: PhiLevel, n: StoredNotification): boolean {
  const handle = host.handles.open(n.id, n.topic);
  try {
    return session.deliver(host.encode(n, level), handle);
  } finally {
    host.handles.release(handle);
  }
}
