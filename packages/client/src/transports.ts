import type { ClientOptions, WebSocketConstructor } from './types.js';

/** How long a transport that worked is tried first (15 minutes). */
const MEMORY_MS = 900_000;

/**
 * Which transport a client tries (WebSocket, then SSE, in `options.transports` order), falling
 * back to the next when one yields no frame, and remembering the one that worked (in `storage`,
 * else in memory) for {@link MEMORY_MS}. Internal to the client.
 */
export class TransportChoice {
  readonly #o: ClientOptions;
  /** Transports in the order tried, and their names. */
  readonly #transports: WebSocketConstructor[] = [];
  readonly #names: string[] = [];
  /** Index of the current socket's transport; how many fell back in a row. */
  #current = 0;
  #fallbacks = 0;
  /** The transport that worked lately (index), until when (ms since epoch). */
  #worked: [number, number] | undefined;

  constructor(options: ClientOptions, WebSocket: WebSocketConstructor | undefined) {
    this.#o = options;
    for (const name of options.transports ?? ['websocket', 'sse']) {
      const T = name === 'sse' ? options.SSE : WebSocket;
      if (T && !this.#names.includes(name)) {
        this.#transports.push(T);
        this.#names.push(name);
      }
    }
  }

  /** How many transports there are. */
  get size(): number {
    return this.#transports.length;
  }

  /** Whether a fallback is still untried in this round. */
  get canFallBack(): boolean {
    return this.#fallbacks < this.#transports.length - 1;
  }

  /** The transport for the next socket: a fallback in progress goes on, else the one that worked lately comes first. */
  next(): WebSocketConstructor {
    if (this.#fallbacks === 0) this.#current = this.#remembered();
    return this.#transports[this.#current] as WebSocketConstructor;
  }

  /** The current transport yielded nothing: the next one is tried. */
  fallBack(): void {
    this.#fallbacks++;
    this.#current = (this.#current + 1) % this.#transports.length;
  }

  /** Starts a new round (a fresh connect, or a retry after every transport was tried). */
  reset(): void {
    this.#fallbacks = 0;
  }

  /** The current transport delivered a frame: remembered when there is a choice. */
  works(): void {
    this.#fallbacks = 0;
    if (this.#transports.length < 2) return;
    const until = Date.now() + MEMORY_MS;
    this.#worked = [this.#current, until];
    try {
      this.#storage()?.setItem(this.#key(), `${this.#names[this.#current]} ${until}`);
    } catch {
      // Storage full or denied: remembered in memory only.
    }
  }

  /** Index of the transport to try first: the one that worked lately, else the first. */
  #remembered(): number {
    if (this.#transports.length < 2) return 0;
    let worked = this.#worked;
    if (!worked) {
      try {
        const [name, until] = (this.#storage()?.getItem(this.#key()) ?? '').split(' ');
        worked = [this.#names.indexOf(name as string), Number(until)];
      } catch {
        // No usable storage.
      }
    }
    return worked && worked[0] >= 0 && worked[1] > Date.now() ? worked[0] : 0;
  }

  #storage(): { getItem(k: string): string | null; setItem(k: string, v: string): void } | undefined {
    return this.#o.storage ?? (globalThis as { localStorage?: Storage }).localStorage;
  }

  #key(): string {
    return `${this.#o.storageKey ?? 'wardcast'}:transport`;
  }
}
