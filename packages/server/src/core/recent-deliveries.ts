/**
 * The last notifications one connection was sent (live, replayed or from the inbox), by id and
 * topic: what lets the hub accept an `ack` or `read` without asking a store, and refuse one for
 * an id the connection never received.
 *
 * Bounded and lean: a session allocates one only when it is first sent a notification (an idle
 * connection has none), the array grows with what was sent up to `capacity` entries and then
 * overwrites the oldest (a ring), and it only holds references to strings the notifications
 * already carry. Appending is O(1) on the fan-out path; a lookup scans at most `capacity`
 * entries, which the per-connection frame rate keeps cheap. Internal to the hub.
 */
export class RecentDeliveries {
  readonly #capacity: number;
  /** `[id, topic, id, topic, ...]`: one flat array, two slots per delivery. */
  readonly #slots: (string | undefined)[] = [];
  /** Index (in deliveries) of the next one to write once the ring is full. */
  #next = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, Math.floor(capacity));
  }

  /** Records that notification `id` of `topic` was sent to the connection. */
  add(id: string, topic: string): void {
    const slots = this.#slots;
    if (slots.length < this.#capacity * 2) {
      slots.push(id, topic);
      return;
    }
    const at = this.#next * 2;
    slots[at] = id;
    slots[at + 1] = topic;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** The topic of `id` when it is among the recorded deliveries, else `undefined`. */
  topicOf(id: string): string | undefined {
    const slots = this.#slots;
    for (let i = slots.length - 2; i >= 0; i -= 2) if (slots[i] === id) return slots[i + 1];
    return undefined;
  }

  /** Forgets every delivery of `topic` (its subscription was revoked). */
  forgetTopic(topic: string): void {
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i += 2) {
      if (slots[i + 1] === topic) {
        slots[i] = undefined;
        slots[i + 1] = undefined;
      }
    }
  }

  /** Number of deliveries recorded (at most `capacity`). */
  get size(): number {
    return this.#slots.length / 2;
  }
}
