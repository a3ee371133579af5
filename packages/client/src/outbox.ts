/** An ack or read waiting for the hub's receipt. */
export interface OutboxItem {
  readonly action: 'ack' | 'read';
  readonly id: string;
  /** The `ref` it was last sent with, to match the hub's refusal (`unknown_notification`) to it. */
  ref?: string;
}

/**
 * Acks and reads not yet confirmed by a `receipt`. Kept while offline and resent after each
 * reconnect until confirmed, so an acknowledgement of a critical result is never lost.
 */
export class Outbox {
  readonly #items = new Map<string, OutboxItem>();

  static #key(action: string, id: string): string {
    return `${action}\u0000${id}`;
  }

  /** Queues an item; returns `false` if it was already queued. */
  add(item: OutboxItem): boolean {
    const key = Outbox.#key(item.action, item.id);
    if (this.#items.has(key)) return false;
    this.#items.set(key, item);
    return true;
  }

  /** Drops an item once the hub confirmed it. */
  confirm(action: string, id: string): void {
    this.#items.delete(Outbox.#key(action, id));
  }

  get size(): number {
    return this.#items.size;
  }

  /** Items in the order they were queued. */
  items(): IterableIterator<OutboxItem> {
    return this.#items.values();
  }
}
