import type { PhiLevel } from '@wardcast/protocol';
import type { KindRegistry } from '../kinds/kind-registry.js';
import { encodeNotification, notificationFrame } from './frames.js';
import type { NotificationHandles } from './notification-handles.js';
import type { Registry } from './registry.js';
import type { Session } from './session.js';
import type { Counters } from './session-host.js';
import type { TopicSubscribers } from './topic-subscribers.js';
import { EncodedFrame } from './transport.js';
import type { StoredNotification } from './types.js';

/**
 * Local fan-out: hands a notification the broker delivered to every subscriber on this
 * instance. Each PHI level is serialised once per notification, never once per subscriber, and
 * a subscriber whose send buffer is over the limit is cut off instead of queued to. Costs
 * O(subscribers of the topic): one map lookup finds them.
 */
export class Delivery {
  readonly #registry: Registry<Session>;
  readonly #kinds: KindRegistry;
  /**
   * The payload object of this instance's latest publish between validation and fan-out, and its
   * JSON text: the frame reuses the text the publish measured instead of serialising the payload
   * again. One slot, not a map: a publish through the memory history and broker is delivered
   * before the next one starts; when publishes interleave (async stages or stores), or the
   * notification comes back through a broker as a copy (another instance, Redis), the payload is
   * simply serialised.
   */
  #expectedPayload: object | undefined;
  #expectedJson = '';

  readonly #handles: NotificationHandles;

  readonly #counters: Counters;

  constructor(registry: Registry<Session>, kinds: KindRegistry, handles: NotificationHandles, counters: Counters) {
    this.#registry = registry;
    this.#kinds = kinds;
    this.#handles = handles;
    this.#counters = counters;
  }

  /**
   * Remembers that `payload` serialises to `json` until {@link Delivery.forget} (when the publish
   * settled). Only objects are remembered (a primitive costs nothing to serialise): returns
   * whether it was.
   */
  expect(payload: unknown, json: string): boolean {
    if (typeof payload !== 'object' || payload === null) return false;
    this.#expectedPayload = payload;
    this.#expectedJson = json;
    return true;
  }

  /** Forgets the text of `payload` remembered by {@link Delivery.expect}, unless a later publish replaced it. */
  forget(payload: unknown): void {
    if (this.#expectedPayload === payload) {
      this.#expectedPayload = undefined;
      this.#expectedJson = '';
    }
  }

  /** Delivers `n` to the live subscribers of its topic and buffers it for the syncing ones; returns how many got it. */
  deliver(n: StoredNotification): number {
    const subs = this.#registry.subscribers(n.topic);
    if (!subs) return 0;
    const { solo, many } = subs;
    const live = solo !== undefined || (many !== undefined && many.size > 0);
    const syncers = subs.syncingCount;
    const sent = live || subs.others > syncers ? this.#deliverLive(n, subs) : 0;
    if (syncers > 0) subs.buffer(n);
    return sent;
  }

  /** The fan-out to the live subscribers, each PHI level's frame encoded once. */
  #deliverLive(n: StoredNotification, subs: TopicSubscribers<Session>): number {
    // One handle for every connection sent `n`, whatever its level; held here until the end.
    const handle = this.#handles.open(n.id, n.topic);
    try {
      let sent = 0;
      const { solo, many } = subs;
      if (solo !== undefined || (many !== undefined && many.size > 0)) {
        const json = n.payload === this.#expectedPayload ? this.#expectedJson : undefined;
        const frame = notificationFrame(n, n.payload, 'full', json);
        // One subscriber (a user's own topic): no set to walk.
        if (solo !== undefined) sent += this.#deliverOne(solo, frame, handle);
        else sent += this.#fanOut(many as Set<Session>, frame, handle);
      }
      // Everyone is live at the full level (the usual case): nothing else to look at.
      if (subs.others === 0) return sent;
      const { idOnly, empty } = subs;
      if (idOnly !== undefined && idOnly.size > 0) {
        sent += this.#fanOut(idOnly, new EncodedFrame(this.encode(n, 'id-only')), handle);
      }
      if (empty !== undefined && empty.size > 0) {
        sent += this.#fanOut(empty, new EncodedFrame(this.encode(n, 'empty')), handle);
      }
      return sent;
    } finally {
      this.#handles.release(handle);
    }
  }

  /** The notification frame for a subscriber at `level`. */
  encode(n: StoredNotification, level: PhiLevel): string {
    return level === 'full'
      ? encodeNotification(n)
      : encodeNotification(n, this.#kinds.redact(n.kind, n.payload, level), level);
  }

  /** {@link Delivery.#fanOut} for a lone subscriber: 1 when it was sent the frame. */
  #deliverOne(session: Session, frame: EncodedFrame, handle: number): number {
    if (!session.deliverShared(frame, handle)) return 0;
    const counters = this.#counters;
    counters.framesOut++;
    counters.deliveries++;
    return 1;
  }

  #fanOut(sessions: ReadonlySet<Session>, frame: EncodedFrame, handle: number): number {
    let sent = 0;
    // Cutting off a slow consumer deletes it from the set: safe while iterating a Set.
    for (const s of sessions) if (s.deliverShared(frame, handle)) sent++;
    // Counted once per fan-out rather than once per frame (`deliverShared` leaves it to us).
    const counters = this.#counters;
    counters.framesOut += sent;
    counters.deliveries += sent;
    return sent;
  }
}
