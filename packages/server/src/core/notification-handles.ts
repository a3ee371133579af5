/**
 * The notifications the hub's recent-deliveries rings refer to, each by a handle: a small
 * integer a ring stores in place of the id and topic strings. Internal to the hub.
 *
 * Why integers: a ring lives long (it is in the old generation of V8's heap) and the strings of
 * a notification just published are young, so storing them in a ring is a store the write
 * barrier records and that every young-generation collection then visits: once per delivery.
 * An integer in an `Int32Array` is neither; the strings are stored here, once per notification.
 *
 * Handles are reference-counted: {@link NotificationHandles.open} gives one held by its caller,
 * each ring slot holding it adds a hold, and the last {@link NotificationHandles.release} frees
 * it for reuse and drops the strings. So a handle stays valid exactly as long as something holds
 * it, and the table holds as many entries as there are distinct notifications held, no more.
 */
export class NotificationHandles {
  #ids: (string | undefined)[] = [];
  #topics: (string | undefined)[] = [];
  /** Holds of each handle; `0` for a free one. */
  #holds = new Int32Array(64);
  /** Handles freed for reuse. */
  readonly #free: number[] = [];
  #live = 0;

  /** A handle for notification `id` of `topic`, held once by the caller (who must release it). */
  open(id: string, topic: string): number {
    let handle = this.#free.pop();
    if (handle === undefined) {
      handle = this.#ids.length;
      this.#ids.push(id);
      this.#topics.push(topic);
      if (handle === this.#holds.length) {
        const holds = new Int32Array(handle * 2);
        holds.set(this.#holds);
        this.#holds = holds;
      }
    } else {
      this.#ids[handle] = id;
      this.#topics[handle] = topic;
    }
    this.#holds[handle] = 1;
    this.#live++;
    return handle;
  }

  /** One more hold on `handle`, which must be held already. */
  hold(handle: number): void {
    const holds = this.#holds;
    holds[handle] = (holds[handle] as number) + 1;
  }

  /** Gives back one hold on `handle`; the last one frees it. Small enough for V8 to inline. */
  release(handle: number): void {
    const holds = this.#holds;
    const left = (holds[handle] as number) - 1;
    holds[handle] = left;
    if (left === 0) this.#drop(handle);
  }

  /** The notification id of a held `handle`. */
  id(handle: number): string | undefined {
    return this.#ids[handle];
  }

  /** The topic of a held `handle`. */
  topic(handle: number): string | undefined {
    return this.#topics[handle];
  }

  /** Frees `handle`, no longer held: its strings go, and the next `open` may reuse it. */
  #drop(handle: number): void {
    this.#ids[handle] = undefined;
    this.#topics[handle] = undefined;
    this.#free.push(handle);
    this.#live--;
  }

  /** Handles held now (opened and not released by all their holders). */
  get size(): number {
    return this.#live;
  }
}
