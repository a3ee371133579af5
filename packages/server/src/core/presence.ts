import type { PresenceFrame } from '@wardcast/protocol';
import type { PresenceFlip, RemotePresence } from './cluster.js';
import { encodeFrame } from './frames.js';
import type { Registry } from './registry.js';
import type { Session } from './session.js';
import type { SessionHost } from './session-host.js';
import { EncodedFrame } from './transport.js';

/*
 * Presence is derived from the registry alone: a user is present on a topic while at least one
 * of their connections is subscribed to it (live or still syncing). Nothing else is stored, so
 * it cannot drift from who actually receives the topic. Every registry change of a topic goes
 * through `joinTopic`/`leaveTopic`, which compare before and after and announce the difference.
 *
 * With a broker that has a control channel, each instance also tells the others when a user's
 * presence on a topic changes on it (the `presence` hub event stays per instance), and frames
 * describe the union over all instances: a join or leave is announced only when the union changes.
 */

/** Distinct user ids subscribed to `topic` on this instance, plus those other instances reported, sorted. */
export function presenceOf(registry: Registry<Session>, topic: string, remote?: RemotePresence): string[] {
  const users = new Set<string>(remote?.members(topic) ?? []);
  for (const session of registry.connections(topic)) {
    const userId = session.principal?.userId;
    if (userId !== undefined) users.add(userId);
  }
  return [...users].sort();
}

/**
 * Adds `session` to `topic` in syncing mode (see {@link Registry.beginSync}), tells the broker
 * about a first local subscriber, and announces the user when this is their first connection there.
 */
export function joinTopic(host: SessionHost<Session>, session: Session, topic: string): void {
  const { registry } = host;
  const userId = session.principal?.userId;
  const before = userId !== undefined && registry.hasUserOn(topic, userId);
  if (registry.beginSync(topic, session)) host.watch(topic);
  if (userId === undefined || before) return;
  host.cluster.post({ type: 'presence', topic, userId, present: true });
  if (host.wants('presence')) host.emit('presence', { topic, joined: userId });
  if (host.cluster.remote.has(topic, userId)) return;
  announceUser(host, topic, true, userId);
}

/**
 * Removes `session` from `topic`, tells the broker when it was the last local subscriber, and
 * announces the user when it was their last connection there.
 */
export function leaveTopic(host: SessionHost<Session>, session: Session, topic: string): void {
  const { registry } = host;
  const userId = session.principal?.userId;
  const before = userId !== undefined && registry.hasUserOn(topic, userId);
  if (registry.unsubscribe(topic, session)) host.unwatch(topic);
  if (userId === undefined || !before || registry.hasUserOn(topic, userId)) return;
  host.cluster.post({ type: 'presence', topic, userId, present: false });
  if (host.wants('presence')) host.emit('presence', { topic, left: userId });
  if (host.cluster.remote.has(topic, userId)) return;
  announceUser(host, topic, false, userId);
}

/** Another instance's change flipped a user's remote presence: announced unless this instance has the user too. */
export function remotePresenceChanged(host: SessionHost<Session>, flip: PresenceFlip): void {
  if (host.registry.hasUserOn(flip.topic, flip.userId)) return;
  const change = flip.present ? { joined: [flip.userId] } : { left: [flip.userId] };
  announce(host, flip.topic, { type: 'presence', topic: flip.topic, ...change });
}

/**
 * Makes `session` a presence watcher of `topic` and sends it the full member list. Called right
 * after the `subscribed` reply; does nothing when the session is not (or no longer) subscribed.
 */
export function watchPresence(host: SessionHost<Session>, session: Session, topic: string): void {
  if (!session.isOpen || !host.registry.watchPresence(topic, session)) return;
  session.send({ type: 'presence', topic, members: presenceOf(host.registry, topic, host.cluster.remote) });
}

/** Whether `topic` has presence watchers to tell (none at shutdown: telling each about all the others would be N² frames). */
function watchersOf(host: SessionHost<Session>, topic: string): Set<Session> | undefined {
  const watchers = host.registry.subscribers(topic)?.watchers;
  if (!watchers || watchers.size === 0 || host.closing()) return undefined;
  return watchers;
}

/** {@link announce} of one user joining or leaving: the frame is made only when someone watches. */
function announceUser(host: SessionHost<Session>, topic: string, joined: boolean, userId: string): void {
  const watchers = watchersOf(host, topic);
  if (watchers === undefined) return;
  sendToWatchers(
    watchers,
    joined ? { type: 'presence', topic, joined: [userId] } : { type: 'presence', topic, left: [userId] },
  );
}

/** Sends a presence frame to the topic's watchers, encoded once; slow readers are cut off as in fan-out. */
function announce(host: SessionHost<Session>, topic: string, frame: PresenceFrame): void {
  const watchers = watchersOf(host, topic);
  if (watchers !== undefined) sendToWatchers(watchers, frame);
}

/** The frame to each watcher still open and watching, encoded once. */
function sendToWatchers(watchers: Set<Session>, frame: PresenceFrame): void {
  const encoded = new EncodedFrame(encodeFrame(frame));
  // A copy: cutting off a slow watcher removes it from the set (and may announce its own leave).
  for (const session of [...watchers]) {
    if (session.isOpen && watchers.has(session)) session.write(encoded, false);
  }
}
