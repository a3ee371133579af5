import {
  ErrorCode,
  type PhiLevel,
  type StreamPosition,
  type SubscribeTopic,
  type SubscriptionResult,
  WardcastError,
} from '@wardcast/protocol';
import type { ReadResult } from '../history/types.js';
import { joinTopic, leaveTopic } from './presence.js';
import type { Session } from './session.js';
import type { SessionHost } from './session-host.js';
import { isThenable, runSteps, type Steps } from './steps.js';
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

function denied(topic: string, code: string): SubscriptionResult {
  return { topic, status: 'denied', recovered: false, code };
}

const RANK: Readonly<Record<PhiLevel, number>> = { full: 2, 'id-only': 1, empty: 0 };

/** A policy hook threw (or its promise rejected): logged at `warn` with what happens then. */
function hookThrew(host: SessionHost<Session>, hook: string, topic: string, thrown: string, cause: unknown): undefined {
  host.logger.warn({ topic, err: cause }, `wardcast: ${hook} threw; ${thrown}`);
  return undefined;
}

/** `policy` as a level: `empty` for an unknown one (logged at `warn`). */
function levelOf(host: SessionHost<Session>, topic: string, policy: unknown): PhiLevel {
  if (policy === 'full' || policy === 'id-only' || policy === 'empty') return policy;
  host.logger.warn({ topic }, 'wardcast: phiLevel returned an unknown level; using empty');
  return 'empty';
}

/**
 * What `phiLevel` allows; `empty` for an unknown level, `undefined` when it threw (logged at
 * `warn` with what happens then: `thrown`). A promise only when `phiLevel` returned one.
 */
function policyLevel(
  host: SessionHost<Session>,
  principal: Principal,
  topic: string,
  thrown: string,
): PhiLevel | undefined | Promise<PhiLevel | undefined> {
  try {
    const policy = host.phiLevel(principal, topic);
    if (!isThenable(policy)) return levelOf(host, topic, policy);
    return Promise.resolve(policy).then(
      (p) => levelOf(host, topic, p),
      (cause: unknown) => hookThrew(host, 'phiLevel', topic, thrown, cause),
    );
  } catch (cause) {
    return hookThrew(host, 'phiLevel', topic, thrown, cause);
  }
}

/** The lower of what the client asked for and what policy allows (`empty` when the policy threw). */
function lowerLevel(allowedLevel: PhiLevel | undefined, requested: PhiLevel | undefined): PhiLevel {
  const allowed = allowedLevel ?? 'empty';
  const wanted = requested ?? 'full';
  return RANK[wanted] < RANK[allowed] ? wanted : allowed;
}

/**
 * What `authorize` says: `true`, `false`, or `undefined` when it threw (logged at `warn` with
 * what happens then: `thrown`). A promise only when `authorize` returned one.
 */
function authorizes(
  host: SessionHost<Session>,
  principal: Principal,
  topic: string,
  thrown: string,
): boolean | undefined | Promise<boolean | undefined> {
  try {
    const verdict = host.authorize(principal, topic);
    if (!isThenable(verdict)) return verdict === true;
    return Promise.resolve(verdict).then(
      (v) => v === true,
      (cause: unknown) => hookThrew(host, 'authorize', topic, thrown, cause),
    );
  } catch (cause) {
    return hookThrew(host, 'authorize', topic, thrown, cause);
  }
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
  return runSteps(subscribeSteps(host, session, principal, requested));
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

/**
 * {@link subscribeTopics} as steps: each `yield` is where an async function would `await`, and
 * only a thenable is yielded (a plain answer goes on at once, as {@link runSteps} would: with
 * synchronous hooks and history the generator runs through in one step, never suspended). The
 * loops are indexed: a generator keeps what lives across a `yield` (an array iterator too) in its
 * own heap objects.
 */
function* subscribeSteps(
  host: SessionHost<Session>,
  session: Session,
  principal: Principal,
  requested: readonly SubscribeTopic[],
): Steps<SubscriptionResult[] | undefined> {
  const { registry, limits } = host;
  const topics = uniqueTopics(requested);
  // Sized once (an array grown from empty gets room for 17): every result is written by index
  // before the end, accepted topics' by the last loop.
  const results: SubscriptionResult[] = new Array(topics.length);
  const accepted: Accepted[] = new Array(topics.length);
  let acceptedCount = 0;
  for (let t = 0; t < topics.length; t++) {
    const { topic, since, phi, unread } = topics[t] as SubscribeTopic;

    const already = session.topics.has(topic);
    if (!already && session.topics.size >= limits.maxSubscriptions) {
      results[t] = denied(topic, ErrorCode.TooManySubscriptions);
      host.emit('denied', { ...session.info(), topic, code: ErrorCode.TooManySubscriptions });
      continue;
    }
    // A subscribe fails closed: an `authorize` that throws denies.
    let verdict: unknown = authorizes(host, principal, topic, 'denying');
    if (isThenable(verdict)) verdict = yield verdict;
    if (verdict !== true) {
      if (!session.isOpen) return undefined;
      if (session.topics.delete(topic)) leaveTopic(host, session, topic);
      results[t] = denied(topic, ErrorCode.TopicDenied);
      host.emit('denied', { ...session.info(), topic, code: ErrorCode.TopicDenied });
      host.audit('subscribe.denied', session, { topic, code: ErrorCode.TopicDenied });
      continue;
    }
    let policy: unknown = policyLevel(host, principal, topic, 'using empty');
    if (isThenable(policy)) policy = yield policy;
    const level = lowerLevel(policy as PhiLevel | undefined, phi);
    if (!session.isOpen) return undefined;
    session.topics.set(topic, level);
    joinTopic(host, session, topic);
    // Every field from the start: an entry that gained `read` later would change hidden class,
    // and V8 drops an unused one at each full collection, with the code that expects it.
    const mine = unread === true && topic === `user:${principal.userId}`;
    accepted[acceptedCount++] = { index: t, topic, since, level, unread: mine, read: undefined, inbox: undefined };
  }

  for (let i = 0; i < acceptedCount; i++) {
    const a = accepted[i] as Accepted;
    try {
      if (a.since) {
        let read: unknown = host.history.read(a.topic, a.since);
        if (isThenable(read)) read = yield read;
        a.read = read as ReadResult;
      } else {
        let position: unknown = host.history.position(a.topic);
        if (isThenable(position)) position = yield position;
        a.read = { recovered: false, notifications: NO_NOTIFICATIONS, position: position as ReadResult['position'] };
      }
    } catch (cause) {
      host.logger.error({ topic: a.topic, err: cause }, 'wardcast: history read failed');
    }
    if (!session.isOpen) return undefined;
    if (a.unread && a.read && !a.read.recovered) {
      // After the position read: see `unreadReplay`. A failing inbox only costs the replay.
      try {
        let inbox: unknown = host.unreadReplay(principal.userId, a.topic);
        if (isThenable(inbox)) inbox = yield inbox;
        a.inbox = inbox as readonly StoredNotification[] | undefined;
      } catch (cause) {
        host.logger.warn({ topic: a.topic, err: cause }, 'wardcast: inbox read for the unread replay failed');
      }
      if (!session.isOpen) return undefined;
    }
  }

  // From here to the end nothing yields: replay, flush and go live happen in one step.
  for (let i = 0; i < acceptedCount; i++) {
    const a = accepted[i] as Accepted;
    if (!session.isOpen) return undefined;
    const read = a.read;
    if (!read) {
      session.topics.delete(a.topic);
      leaveTopic(host, session, a.topic);
      results[a.index] = denied(a.topic, ErrorCode.StoreUnavailable);
      continue;
    }
    const buffered = registry.goLive(a.topic, session, a.level);
    const missed = a.inbox ? inboxReplay(a.inbox, read.position, a.since) : read.notifications;
    const position = replay(host, session, a.level, missed, buffered, read.position, a.inbox && missed);
    const { topic, level } = a;
    const { recovered } = read;
    results[a.index] =
      level === 'full'
        ? { topic, status: 'ok', recovered, position }
        : { topic, status: 'ok', recovered, position, phi: level };
    if (host.wants('subscribe'))
      host.emit('subscribe', { ...session.info(), topic: a.topic, recovered: read.recovered });
  }
  return results;
}

/**
 * Re-authorization of a session's subscriptions (after an in-band token refresh, or every
 * `reauthorizeIntervalMs`), with `principal` as it is now. For each topic, in turn:
 *
 * - `authorize` says no: the subscription is removed (registry, presence, broker interest), with
 *   a `revoked` event and a `subscription.revoked` audit record. The caller tells the client.
 * - allowed: `phiLevel` is asked again and the granted level lowered when policy now allows less
 *   (never raised: the client may have asked for less; a new `subscribe` re-grants).
 * - `authorize` or `phiLevel` throws: the subscription is kept as it is until the next re-check
 *   (logged at `warn`, `error` event). A revocation is final on the client, and a transient
 *   failure of the policy's backend must not unsubscribe a whole ward; to revoke, return `false`.
 *
 * Returns the removed topics, or `undefined` when the session closed meanwhile.
 */
export async function reauthorizeTopics(
  host: SessionHost<Session>,
  session: Session,
  principal: Principal,
): Promise<string[] | undefined> {
  const revoked: string[] = [];
  for (const [topic, level] of [...session.topics]) {
    const verdict = await authorizes(host, principal, topic, 'subscription kept');
    if (!session.isOpen) return undefined;
    // Changed meanwhile (only frames on the session's own chain change it; defensive).
    if (session.topics.get(topic) !== level) continue;
    if (verdict === undefined) {
      reauthorizationFailed(host);
      continue;
    }
    if (!verdict) {
      session.topics.delete(topic);
      leaveTopic(host, session, topic);
      revoked.push(topic);
      host.emit('revoked', { ...session.info(), topic, code: ErrorCode.TopicDenied });
      host.audit('subscription.revoked', session, { topic, code: ErrorCode.TopicDenied });
      continue;
    }
    const policy = await policyLevel(host, principal, topic, 'level kept');
    if (!session.isOpen) return undefined;
    if (session.topics.get(topic) !== level) continue;
    if (policy === undefined) {
      reauthorizationFailed(host);
      continue;
    }
    if (RANK[policy] < RANK[level] && host.registry.setLevel(topic, session, policy)) {
      session.topics.set(topic, policy);
      host.logger.debug({ sessionId: session.id, topic, phi: policy }, 'wardcast: PHI level lowered');
    }
  }
  return revoked;
}

/** Reported once per failed check (the cause was logged with the topic). */
function reauthorizationFailed(host: SessionHost<Session>): void {
  host.emit('error', new WardcastError(ErrorCode.Internal, 'authorize or phiLevel threw during re-authorization'));
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
