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
import type { Principal, StoredNotification } from './types.js';

interface Accepted {
  readonly index: number;
  readonly topic: string;
  readonly since: StreamPosition | undefined;
  readonly level: PhiLevel;
  read?: ReadResult;
}

function denied(topic: string, code: string): SubscriptionResult {
  return { topic, status: 'denied', recovered: false, code };
}

const RANK: Readonly<Record<PhiLevel, number>> = { full: 2, 'id-only': 1, empty: 0 };

/** The lower of what the client asked for and what policy allows. */
async function grantedLevel(
  host: SessionHost<Session>,
  principal: Principal,
  topic: string,
  requested: PhiLevel | undefined,
): Promise<PhiLevel> {
  let allowedLevel: PhiLevel = 'empty';
  try {
    const policy = await host.phiLevel(principal, topic);
    if (policy === 'full' || policy === 'id-only' || policy === 'empty') allowedLevel = policy;
    else host.logger.warn({ topic }, 'wardcast: phiLevel returned an unknown level; using empty');
  } catch (cause) {
    host.logger.warn({ topic, err: cause }, 'wardcast: phiLevel threw; using empty');
  }
  const wanted = requested ?? 'full';
  return RANK[wanted] < RANK[allowedLevel] ? wanted : allowedLevel;
}

async function allowed(host: SessionHost<Session>, principal: Principal, topic: string): Promise<boolean> {
  try {
    return (await host.authorize(principal, topic)) === true;
  } catch (cause) {
    host.logger.warn({ topic, err: cause }, 'wardcast: authorize threw; denying');
    return false;
  }
}

/**
 * Runs one `subscribe` frame for a session: authorizes each topic, joins it in syncing mode
 * (live notifications are buffered), reads history, then, in one synchronous step, replays
 * what the client missed, flushes the buffer and goes live. Returns the per-topic results in
 * request order, or `undefined` if the session closed meanwhile.
 */
export async function subscribeTopics(
  host: SessionHost<Session>,
  session: Session,
  principal: Principal,
  requested: readonly SubscribeTopic[],
): Promise<SubscriptionResult[] | undefined> {
  // Last entry wins when a frame names a topic twice.
  const unique = new Map<string, SubscribeTopic>();
  for (const t of requested) unique.set(t.topic, t);
  const results: SubscriptionResult[] = [];
  const accepted: Accepted[] = [];
  const { registry, limits } = host;

  for (const { topic, since, phi } of unique.values()) {
    const index = results.length;
    results.push(denied(topic, ErrorCode.Internal));
    const already = session.topics.has(topic);
    if (!already && session.topics.size >= limits.maxSubscriptions) {
      results[index] = denied(topic, ErrorCode.TooManySubscriptions);
      host.emit('denied', { ...session.info(), topic, code: ErrorCode.TooManySubscriptions });
      continue;
    }
    if (!(await allowed(host, principal, topic))) {
      if (!session.isOpen) return undefined;
      if (session.topics.delete(topic)) leaveTopic(host, session, topic);
      results[index] = denied(topic, ErrorCode.TopicDenied);
      host.emit('denied', { ...session.info(), topic, code: ErrorCode.TopicDenied });
      host.audit('subscribe.denied', session, { topic, code: ErrorCode.TopicDenied });
      continue;
    }
    const level = await grantedLevel(host, principal, topic, phi);
    if (!session.isOpen) return undefined;
    session.topics.set(topic, level);
    joinTopic(host, session, topic);
    accepted.push({ index, topic, since, level });
  }

  for (const a of accepted) {
    try {
      a.read = a.since
        ? await host.history.read(a.topic, a.since)
        : { recovered: false, notifications: [], position: await host.history.position(a.topic) };
    } catch (cause) {
      host.logger.error({ topic: a.topic, err: cause }, 'wardcast: history read failed');
    }
    if (!session.isOpen) return undefined;
  }

  // From here to the end nothing awaits: replay, flush and go live happen in one step.
  for (const a of accepted) {
    if (!session.isOpen) return undefined;
    const read = a.read;
    if (!read) {
      session.topics.delete(a.topic);
      leaveTopic(host, session, a.topic);
      results[a.index] = denied(a.topic, ErrorCode.StoreUnavailable);
      continue;
    }
    const buffered = registry.goLive(a.topic, session, a.level);
    const position = replay(host, session, a.level, read.notifications, buffered, read.position);
    results[a.index] = {
      topic: a.topic,
      status: 'ok',
      recovered: read.recovered,
      position,
      ...(a.level === 'full' ? {} : { phi: a.level }),
    };
    host.emit('subscribe', { ...session.info(), topic: a.topic, recovered: read.recovered });
  }
  return results;
}

function replay(
  host: SessionHost<Session>,
  session: Session,
  level: PhiLevel,
  missed: readonly StoredNotification[],
  buffered: readonly StoredNotification[],
  position: StreamPosition,
): StreamPosition {
  let end = position;
  const send = (n: StoredNotification): void => {
    host.counters.framesOut++;
    host.counters.deliveries++;
    session.socket.send(host.encode(n, level));
  };
  const max = host.limits.maxBufferedBytes;
  // Checked before every write: a replay can never queue more than one frame past the limit.
  for (const n of missed) {
    if (session.socket.bufferedAmount > max) return slow(session, end);
    send(n);
  }
  for (const n of buffered) {
    if (n.epoch !== position.epoch || n.seq > position.seq) {
      if (session.socket.bufferedAmount > max) return slow(session, end);
      send(n);
      end = { epoch: n.epoch, seq: n.seq };
    }
  }
  return end;
}

function slow(session: Session, end: StreamPosition): StreamPosition {
  session.slowConsumer();
  return end;
}
