type Listener = (...args: unknown[]) => void;

/**
 * A minimal typed event emitter (the client's size budget has no room for a library).
 * A listener that throws does not stop the others or the client: its error is rethrown
 * asynchronously, where the host reports it (window.onerror, Node's uncaughtException).
 */
export class Emitter<E extends { [K in keyof E]: unknown[] }> {
  readonly #listeners = new Map<keyof E, Set<Listener>>();

  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as unknown as Listener);
    return () => {
      set.delete(listener as unknown as Listener);
    };
  }

  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...(args as unknown[]));
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Number of listeners of `event` (for tests and leak checks). */
  count(event: keyof E): number {
    return this.#listeners.get(event)?.size ?? 0;
  }
}
