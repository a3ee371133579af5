import type { StoredNotification } from '../core/types.js';

/** A place of a topic's stream appended and not yet visible (see `MemoryHistoryStore`). */
export class Reservation {
  readonly notification: StoredNotification;
  state: 'pending' | 'ready' | 'aborted' = 'pending';
  #settled = false;
  #waiting: Promise<void> | undefined;
  #resolve: (() => void) | undefined;

  constructor(notification: StoredNotification) {
    this.notification = notification;
  }

  /** Resolves when the reservation is settled (visible or abandoned); made only when someone waits. */
  get settled(): Promise<void> {
    if (this.#waiting === undefined) {
      this.#waiting = this.#settled
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.#resolve = resolve;
          });
    }
    return this.#waiting;
  }

  settle(): void {
    this.#settled = true;
    this.#resolve?.();
  }
}
