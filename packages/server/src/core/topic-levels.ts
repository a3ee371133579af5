import type { PhiLevel } from '@wardcast/protocol';

/**
 * The topics one session subscribed to, with the PHI level granted on each: the subset of
 * `Map<string, PhiLevel>` the hub uses, lean for the common case. Most connections hold one
 * subscription (their own `user:<id>` topic, or one ward), kept in two fields; a `Map` is created
 * only for a second topic. Internal to the hub.
 */
export class TopicLevels {
  #topic: string | undefined;
  #level: PhiLevel = 'full';
  #map: Map<string, PhiLevel> | undefined;

  get size(): number {
    if (this.#map !== undefined) return this.#map.size;
    return this.#topic === undefined ? 0 : 1;
  }

  has(topic: string): boolean {
    if (this.#map !== undefined) return this.#map.has(topic);
    return this.#topic === topic;
  }

  get(topic: string): PhiLevel | undefined {
    if (this.#map !== undefined) return this.#map.get(topic);
    return this.#topic === topic ? this.#level : undefined;
  }

  set(topic: string, level: PhiLevel): this {
    if (this.#map !== undefined) {
      this.#map.set(topic, level);
    } else if (this.#topic === undefined || this.#topic === topic) {
      this.#topic = topic;
      this.#level = level;
    } else {
      this.#map = new Map([
        [this.#topic, this.#level],
        [topic, level],
      ]);
      this.#topic = undefined;
    }
    return this;
  }

  delete(topic: string): boolean {
    if (this.#map !== undefined) return this.#map.delete(topic);
    if (this.#topic !== topic) return false;
    this.#topic = undefined;
    return true;
  }

  clear(): void {
    this.#map = undefined;
    this.#topic = undefined;
  }

  /** The one topic, when there is exactly one and no `Map` was made (the common case): read without an iterator. */
  get sole(): string | undefined {
    return this.#map === undefined ? this.#topic : undefined;
  }

  /** The topics, in subscription order. */
  keys(): IterableIterator<string> {
    if (this.#map !== undefined) return this.#map.keys();
    return (this.#topic === undefined ? [] : [this.#topic])[Symbol.iterator]();
  }

  /** `[topic, level]` pairs, in subscription order. */
  entries(): IterableIterator<[string, PhiLevel]> {
    if (this.#map !== undefined) return this.#map.entries();
    const one: [string, PhiLevel][] = this.#topic === undefined ? [] : [[this.#topic, this.#level]];
    return one[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, PhiLevel]> {
    return this.entries();
  }
}
