import type { NotificationFrame, StreamPosition, SubscriptionResult } from '@wardcast/protocol';
import type { GapEvent, StorageLike } from './types.js';

/**
 * What to do with an incoming notification: hand it to the app or not, and whether it shows a gap
 * (reported even when the notification itself is a repeat: the stream still jumped).
 */
export interface Verdict {
  readonly deliver: boolean;
  readonly gap: GapEvent['reason'] | undefined;
}

/**
 * Per-topic resume points and dedupe: remembers the last `{ epoch, seq }` seen on each topic,
 * drops notifications already seen (by id, or by an older seq on the same stream) and spots gaps.
 */
export class StreamTracker {
  readonly #positions = new Map<string, StreamPosition>();
  readonly #seen = new Set<string>();
  /** Topics with a `subscribe` in flight: their gaps are reported by the `subscribed` result. */
  readonly #pending = new Set<string>();
  readonly #window: number;
  readonly #storage: StorageLike | undefined;
  readonly #key: string;
  #saveScheduled = false;

  constructor(window: number, storage: StorageLike | undefined, key: string) {
    this.#window = window;
    this.#storage = storage;
    this.#key = `${key}:positions`;
    this.#load();
  }

  /** The resume point of `topic`, if any. */
  position(topic: string): StreamPosition | undefined {
    return this.#positions.get(topic);
  }

  /** Marks topics as being (re)subscribed. */
  subscribing(topics: Iterable<string>): void {
    for (const t of topics) this.#pending.add(t);
  }

  /** Forgets a topic's position (after unsubscribe). */
  forget(topic: string): void {
    this.#positions.delete(topic);
    this.#pending.delete(topic);
    this.#scheduleSave();
  }

  /** Applies one `subscribed` result; returns a gap when a resume point could not be honoured. */
  subscribed(result: SubscriptionResult, hadSince: boolean): GapEvent | undefined {
    this.#pending.delete(result.topic);
    if (result.status !== 'ok' || !result.position) return undefined;
    const current = this.#positions.get(result.topic);
    if (!current || current.epoch !== result.position.epoch || current.seq < result.position.seq) {
      this.#positions.set(result.topic, result.position);
      this.#scheduleSave();
    }
    return hadSince && !result.recovered ? { topic: result.topic, reason: 'history_exceeded' } : undefined;
  }

  /** Decides whether to hand a notification to the app, and records it. */
  accept(n: NotificationFrame): Verdict {
    const pos = this.#positions.get(n.topic);
    if (pos && pos.epoch === n.epoch && n.seq <= pos.seq) return { deliver: false, gap: undefined };
    let gap: GapEvent['reason'] | undefined;
    if (pos && !this.#pending.has(n.topic)) {
      if (pos.epoch !== n.epoch) gap = 'epoch_changed';
      else if (n.seq > pos.seq + 1) gap = 'seq_jump';
    }
    this.#positions.set(n.topic, { epoch: n.epoch, seq: n.seq });
    this.#scheduleSave();
    // Seen already (on another topic, or before the hub's store rewound and a retry stored it
    // again): not delivered again, but this topic's stream moved on, and a jump on the way (the
    // first notification of a new epoch) is still a gap.
    if (this.#seen.has(n.id)) return { deliver: false, gap };
    this.#remember(n.id);
    return { deliver: true, gap };
  }

  #remember(id: string): void {
    this.#seen.add(id);
    if (this.#seen.size > this.#window) {
      const oldest = this.#seen.values().next().value as string;
      this.#seen.delete(oldest);
    }
  }

  #load(): void {
    if (!this.#storage) return;
    try {
      const raw = this.#storage.getItem(this.#key);
      const parsed: unknown = raw ? JSON.parse(raw) : undefined;
      if (typeof parsed !== 'object' || parsed === null) return;
      for (const [topic, pos] of Object.entries(parsed as Record<string, unknown>)) {
        const p = pos as { epoch?: unknown; seq?: unknown };
        if (typeof p?.epoch === 'string' && Number.isInteger(p.seq) && (p.seq as number) >= 0) {
          this.#positions.set(topic, { epoch: p.epoch, seq: p.seq as number });
        }
      }
    } catch {
      // Unreadable storage: start without resume points (the hub then reports no recovery).
    }
  }

  #scheduleSave(): void {
    if (!this.#storage || this.#saveScheduled) return;
    this.#saveScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Writes positions to storage now. */
  flush(): void {
    this.#saveScheduled = false;
    if (!this.#storage) return;
    try {
      this.#storage.setItem(this.#key, JSON.stringify(Object.fromEntries(this.#positions)));
    } catch {
      // Quota or privacy mode: resume points then only live in memory.
    }
  }
}
