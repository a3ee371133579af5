import type { PhiLevel } from '@wardcast/protocol';
import type { KindRegistry } from '../kinds/kind-registry.js';
import { encodeNotification } from './frames.js';
import type { Registry } from './registry.js';
import type { Session } from './session.js';
import { EncodedFrame } from './transport.js';
import type { StoredNotification } from './types.js';

const REDUCED_LEVELS = ['id-only', 'empty'] as const;

/**
 * Local fan-out: hands a notification the broker delivered to every subscriber on this
 * instance. Each PHI level is serialised once per notification, never once per subscriber, and
 * a subscriber whose send buffer is over the limit is cut off instead of queued to.
 */
export class Delivery {
  readonly #registry: Registry<Session>;
  readonly #kinds: KindRegistry;

  constructor(registry: Registry<Session>, kinds: KindRegistry) {
    this.#registry = registry;
    this.#kinds = kinds;
  }

  /** Delivers `n` to the live subscribers of its topic and buffers it for the syncing ones; returns how many got it. */
  deliver(n: StoredNotification): number {
    const subs = this.#registry.subscribers(n.topic);
    if (!subs) return 0;
    let sent = 0;
    if (subs.live.size > 0) sent += this.#fanOut(subs.live, new EncodedFrame(encodeNotification(n)), n);
    for (const level of REDUCED_LEVELS) {
      const set = subs.reduced[level];
      if (set.size > 0) sent += this.#fanOut(set, new EncodedFrame(this.encode(n, level)), n);
    }
    for (const buffer of subs.syncing.values()) buffer.push(n);
    return sent;
  }

  /** The notification frame for a subscriber at `level`. */
  encode(n: StoredNotification, level: PhiLevel): string {
    return level === 'full'
      ? encodeNotification(n)
      : encodeNotification(n, this.#kinds.redact(n.kind, n.payload, level), level);
  }

  #fanOut(sessions: ReadonlySet<Session>, frame: EncodedFrame, n: StoredNotification): number {
    let sent = 0;
    // Cutting off a slow consumer deletes it from the set: safe while iterating a Set.
    for (const s of sessions) if (s.deliver(frame, n)) sent++;
    return sent;
  }
}
