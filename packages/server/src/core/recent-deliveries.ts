import type { NotificationHandles } from './notification-handles.js';

/** A slot with no delivery in it (its topic was forgotten). */
const EMPTY = -1;
/** Slots of a ring's first array; it doubles as deliveries come, up to the capacity. */
const FIRST_SLOTS = 8;

/**
 * The last notifications one connection was sent (live, replayed or from the inbox), by id and
 * topic: what lets the hub accept an `ack` or `read` without asking a store, and refuse one for
 * an id the connection never received.
 *
 * Bounded and lean: a session allocates one only when it is first sent a notification (an idle
 * connection has none), its array grows with what was sent up to `capacity` entries and then
 * overwrites the oldest (a ring), and an entry is a handle of the hub's
 * {@link NotificationHandles} (an `Int32Array` slot), which keeps the id and topic once for every
 * connection sent the notification. Recording a delivery is O(1) and stores no reference; a
 * lookup scans at most `capacity` entries, which the per-connection frame rate keeps cheap.
 * {@link RecentDeliveries.clear} gives the handles back when the connection ends. Internal to the hub.
 */
export class RecentDeliveries {
  readonly #capacity: number;
  readonly #handles: NotificationHandles;
  #slots: Int32Array;
  /** Slots in use (the ring is full at `capacity`). */
  #size = 0;
  /** Index of the next slot to write: `#size` until the ring is full, then the oldest slot. */
  #next = 0;

  constructor(capacity: number, handles: NotificationHandles) {
    this.#capacity = Math.max(1, Math.floor(capacity));
    this.#handles = handles;
    this.#slots = new Int32Array(Math.min(this.#capacity, FIRST_SLOTS));
  }

  /** Records that the notification of `handle` (held by the caller) was sent to the connection. */
  add(handle: number): void {
    this.#handles.hold(handle);
    const at = this.#next;
    if (at === this.#size) {
      this.#append(handle);
      return;
    }
    // Full: overwrite the oldest (a handle is never negative: `EMPTY` is).
    const slots = this.#slots;
    const overwritten = slots[at] as number;
    slots[at] = handle;
    this.#next = at + 1 === this.#capacity ? 0 : at + 1;
    if (overwritten >= 0) this.#handles.release(overwritten);
  }

  /** Adds a slot while the ring is not full yet (apart from `add`, which runs once per delivery). */
  #append(handle: number): void {
    const size = this.#size;
    if (size === this.#slots.length) this.#grow();
    this.#slots[size] = handle;
    this.#size = size + 1;
    // `#next` follows `#size` until the ring is full, then wraps to the oldest slot.
    this.#next = size + 1 === this.#capacity ? 0 : size + 1;
  }

  /** The topic of `id` when it is among the recorded deliveries, else `undefined`. */
  topicOf(id: string): string | undefined {
    const slots = this.#slots;
    const handles = this.#handles;
    for (let i = this.#size - 1; i >= 0; i--) {
      const handle = slots[i] as number;
      if (handle !== EMPTY && handles.id(handle) === id) return handles.topic(handle);
    }
    return undefined;
  }

  /** Forgets every delivery of `topic` (its subscription was revoked). */
  forgetTopic(topic: string): void {
    const slots = this.#slots;
    const handles = this.#handles;
    for (let i = 0; i < this.#size; i++) {
      const handle = slots[i] as number;
      if (handle !== EMPTY && handles.topic(handle) === topic) {
        slots[i] = EMPTY;
        handles.release(handle);
      }
    }
  }

  /** Forgets every delivery, giving back their handles (the connection ended). */
  clear(): void {
    const slots = this.#slots;
    for (let i = 0; i < this.#size; i++) {
      const handle = slots[i] as number;
      if (handle !== EMPTY) this.#handles.release(handle);
    }
    this.#size = 0;
    this.#next = 0;
  }

  /** Number of deliveries recorded (at most `capacity`). */
  get size(): number {
    return this.#size;
  }

  #grow(): void {
    const slots = new Int32Array(Math.min(this.#capacity, this.#slots.length * 2));
    slots.set(this.#slots);
    this.#slots = slots;
  }
}
