import type { StreamPosition } from '@wardcast/protocol';
import type { BrokerHandler, Logger, StoredNotification } from '@wardcast/server';
import type { Listener } from './listener.js';
import { decodeMessage, type StreamStore } from './store.js';

const RETRY_MS = 500;

/** What the feed knows of one watched topic. */
export interface WatchedTopic {
  /** Last position handed to the hub; `undefined` until the first read of the stream. */
  readonly last: StreamPosition | undefined;
  /** Resolves once `last` is known. */
  readonly ready: Promise<void>;
}

/** A NOTIFY: the position, and the notification unless it was too large to carry (then read from the table). */
interface Message {
  readonly epoch: string;
  readonly seq: number;
  readonly notification: StoredNotification | undefined;
}

interface TopicState extends WatchedTopic {
  readonly channel: string;
  last: StreamPosition | undefined;
  /** Reads of the table in flight; messages wait in `queue` meanwhile. */
  syncs: number;
  readonly queue: Message[];
  resolve: () => void;
  retry: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The receiving side: one NOTIFY channel per watched topic. For each topic it remembers the last
 * `{ epoch, seq }` it handed to the hub and hands over only the next one: an older or repeated seq
 * is dropped; a jump (a notification missed while the listening session was down), another epoch,
 * or a notification too large for a NOTIFY payload is first read from the stream table, in order.
 * After the listener reconnects, every topic is read from the table again before live ones flow.
 */
export class TopicFeed {
  readonly #topics = new Map<string, TopicState>();
  readonly #byChannel = new Map<string, string>();
  readonly #listener: Listener;
  readonly #store: StreamStore;
  readonly #channelOf: (topic: string) => string;
  readonly #logger: Logger;
  #deliver: BrokerHandler | undefined;
  /** The listener is up and listening. */
  #live = false;
  /** Gaps the table could not fill (trimmed or epoch changed), for tests and metrics. */
  gapsReported = 0;

  constructor(listener: Listener, store: StreamStore, channelOf: (topic: string) => string, logger: Logger) {
    this.#listener = listener;
    this.#store = store;
    this.#channelOf = channelOf;
    this.#logger = logger;
  }

  get live(): boolean {
    return this.#live;
  }

  start(deliver: BrokerHandler): void {
    this.#deliver = deliver;
  }

  watched(topic: string): WatchedTopic | undefined {
    return this.#topics.get(topic);
  }

  /** Starts following `topic`. Registers it synchronously; the LISTEN and first read follow. */
  watch(topic: string): Promise<void> {
    const existing = this.#topics.get(topic);
    if (existing) return existing.ready;
    let resolve = (): void => {};
    const ready = new Promise<void>((r) => {
      resolve = r;
    });
    const st: TopicState = {
      channel: this.#channelOf(topic),
      last: undefined,
      syncs: 0,
      queue: [],
      ready,
      resolve,
      retry: undefined,
    };
    this.#topics.set(topic, st);
    this.#byChannel.set(st.channel, topic);
    if (!this.#live) {
      // Listened to (and read) at the next `up()`.
      void this.#listener.listen(st.channel);
      return Promise.resolve();
    }
    return this.#subscribe(topic, st);
  }

  async unwatch(topic: string): Promise<void> {
    const st = this.#topics.get(topic);
    if (!st) return;
    this.#topics.delete(topic);
    this.#byChannel.delete(st.channel);
    clearTimeout(st.retry);
    st.resolve();
    await this.#listener.unlisten(st.channel);
  }

  /** Reads the topic's stream now and hands over what the hub has not seen yet. */
  resync(topic: string): Promise<void> {
    const st = this.#topics.get(topic);
    return st ? this.#sync(topic, st) : Promise.resolve();
  }

  /** A NOTIFY on a topic channel. */
  message(channel: string, raw: string): void {
    const topic = this.#byChannel.get(channel);
    const st = topic === undefined ? undefined : this.#topics.get(topic);
    if (!st || topic === undefined) return;
    const m = decodeMessage(raw);
    if (!m || (m.notification && m.notification.topic !== topic)) {
      this.#logger.warn({ topic }, 'wardcast/postgres: undecodable notification ignored');
      return;
    }
    const last = st.last;
    if (
      m.notification &&
      this.#live &&
      st.syncs === 0 &&
      st.queue.length === 0 &&
      last?.epoch === m.epoch &&
      m.seq === last.seq + 1
    ) {
      st.last = { epoch: m.epoch, seq: m.seq };
      this.#hand(m.notification);
      return;
    }
    st.queue.push(m);
    this.#pump(topic, st);
  }

  /** The listener dropped: hold everything until `up()`. */
  down(): void {
    this.#live = false;
  }

  /** Listening again (on `listened`): reads every topic from the table, then goes live. */
  up(listened: ReadonlySet<string>): void {
    this.#live = true;
    for (const [topic, st] of this.#topics) {
      if (listened.has(st.channel)) void this.#sync(topic, st);
      else
        void this.#subscribe(topic, st).catch((cause: unknown) => {
          this.#logger.warn({ err: cause, topic }, 'wardcast/postgres: LISTEN failed; retrying at the next connect');
        });
    }
  }

  close(): void {
    this.#live = false;
    for (const st of this.#topics.values()) {
      clearTimeout(st.retry);
      st.resolve();
    }
    this.#topics.clear();
    this.#byChannel.clear();
    this.#deliver = undefined;
  }

  async #subscribe(topic: string, st: TopicState): Promise<void> {
    await this.#listener.listen(st.channel);
    // Everything committed from here on is notified to us; the first read sets the starting point.
    if (this.#topics.get(topic) === st && this.#live) await this.#sync(topic, st);
  }

  #hand(n: StoredNotification): void {
    try {
      this.#deliver?.(n);
    } catch (cause) {
      this.#logger.error({ err: cause, topic: n.topic }, 'wardcast/postgres: delivery threw');
    }
  }

  /** Hands over queued messages in order; a jump, a new epoch or a payload left out sends us to the table. */
  #pump(topic: string, st: TopicState): void {
    if (!this.#live || st.syncs > 0 || st.last === undefined) return;
    while (st.queue.length > 0) {
      const m = st.queue[0] as Message;
      const last: StreamPosition = st.last;
      if (m.epoch === last.epoch && m.seq <= last.seq) {
        st.queue.shift();
        continue;
      }
      if (m.notification && m.epoch === last.epoch && m.seq === last.seq + 1) {
        st.queue.shift();
        st.last = { epoch: m.epoch, seq: m.seq };
        this.#hand(m.notification);
        continue;
      }
      void this.#sync(topic, st);
      return;
    }
  }

  /**
   * Reads the table after `last` and hands over what it holds, in order; the first read of a topic
   * only records the end. Concurrent reads are safe: each entry is handed over only if it is newer
   * than `last` at that moment.
   */
  async #sync(topic: string, st: TopicState): Promise<void> {
    st.syncs++;
    clearTimeout(st.retry);
    st.retry = undefined;
    try {
      const read = await this.#store.read(topic, st.last, 'follow');
      if (this.#topics.get(topic) !== st) return;
      if (st.last === undefined) {
        st.last = read.position;
      } else {
        for (const n of read.entries) {
          const last: StreamPosition = st.last;
          if (n.epoch === last.epoch && n.seq <= last.seq) continue;
          st.last = { epoch: n.epoch, seq: n.seq };
          this.#hand(n);
        }
        const last = st.last;
        if (last.epoch !== read.position.epoch || last.seq < read.position.seq) {
          // Trimmed before we read it (or the topic got a new epoch): subscribers see the jump and
          // clients report a gap. A new, still empty epoch just becomes the starting point.
          if (read.position.seq > 0) {
            this.gapsReported++;
            this.#logger.warn(
              { topic, from: last, to: read.position },
              'wardcast/postgres: the stream table no longer covers a gap',
            );
          }
          st.last = read.position;
        }
      }
      // Messages of another epoch are from a stream that is gone.
      const epoch = st.last.epoch;
      for (let i = st.queue.length - 1; i >= 0; i--) if (st.queue[i]?.epoch !== epoch) st.queue.splice(i, 1);
      st.resolve();
    } catch (cause) {
      this.#logger.warn({ err: cause, topic }, 'wardcast/postgres: stream read failed; retrying');
      if (this.#topics.get(topic) === st && this.#live) {
        st.retry = setTimeout(() => void this.#sync(topic, st), RETRY_MS);
        st.retry.unref?.();
      }
    } finally {
      st.syncs--;
      this.#pump(topic, st);
    }
  }
}
