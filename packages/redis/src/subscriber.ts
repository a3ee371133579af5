import type { StreamPosition } from '@wardcast/protocol';
import type { BrokerHandler, Logger, StoredNotification } from '@wardcast/server';
import { decodeMessage } from './codec.js';
import type { Connections } from './connections.js';
import type { Keys } from './keys.js';
import type { StreamStore } from './store.js';

const RETRY_MS = 500;

/** What the feed knows of one watched topic. */
export interface WatchedTopic {
  /** Last position handed to the hub; `undefined` until the first read of the stream. */
  readonly last: StreamPosition | undefined;
  /** Resolves once `last` is known. */
  readonly ready: Promise<void>;
}

interface TopicState extends WatchedTopic {
  readonly channel: string;
  last: StreamPosition | undefined;
  /** Reads of the stream in flight; messages wait in `queue` meanwhile. */
  syncs: number;
  readonly queue: StoredNotification[];
  resolve: () => void;
  retry: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The subscribing side: one pub/sub channel per watched topic, so an instance only receives the
 * topics it has subscribers for. For each topic it remembers the last `{ epoch, seq }` it handed to
 * the hub and hands over only the next one: an older or repeated seq is dropped, a jump (a message
 * lost while the connection was down) or a new epoch is first filled from the stream, in order.
 * After a reconnect every topic is read from the stream again before live messages flow.
 */
export class TopicFeed {
  readonly #topics = new Map<string, TopicState>();
  readonly #byChannel = new Map<string, string>();
  readonly #conns: Connections;
  readonly #keys: Keys;
  readonly #store: StreamStore;
  readonly #logger: Logger;
  #deliver: BrokerHandler | undefined;
  /** The pub/sub connection is up and resubscribed. */
  #live = false;

  constructor(conns: Connections, keys: Keys, store: StreamStore, logger: Logger) {
    this.#conns = conns;
    this.#keys = keys;
    this.#store = store;
    this.#logger = logger;
  }

  get live(): boolean {
    return this.#live;
  }

  start(deliver: BrokerHandler): void {
    this.#deliver = deliver;
  }

  /** Channels of every watched topic (to resubscribe after a reconnect). */
  channels(): string[] {
    return [...this.#byChannel.keys()];
  }

  watched(topic: string): WatchedTopic | undefined {
    return this.#topics.get(topic);
  }

  /** Starts following `topic`. Registers it synchronously; the subscription and first read follow. */
  watch(topic: string): Promise<void> {
    const existing = this.#topics.get(topic);
    if (existing) return existing.ready;
    let resolve = (): void => {};
    const ready = new Promise<void>((r) => {
      resolve = r;
    });
    const st: TopicState = {
      channel: this.#keys.channel(topic),
      last: undefined,
      syncs: 0,
      queue: [],
      ready,
      resolve,
      retry: undefined,
    };
    this.#topics.set(topic, st);
    this.#byChannel.set(st.channel, topic);
    // While disconnected, `up()` subscribes and reads every watched topic.
    if (!this.#live) return Promise.resolve();
    return this.#subscribe(topic, st);
  }

  async unwatch(topic: string): Promise<void> {
    const st = this.#topics.get(topic);
    if (!st) return;
    this.#topics.delete(topic);
    this.#byChannel.delete(st.channel);
    clearTimeout(st.retry);
    st.resolve();
    if (this.#conns.sub.status === 'ready') await this.#conns.sub.unsubscribe(st.channel);
  }

  /** Reads the topic's stream now and hands over what the hub has not seen yet. */
  resync(topic: string): Promise<void> {
    const st = this.#topics.get(topic);
    return st ? this.#sync(topic, st) : Promise.resolve();
  }

  /** A message on a topic channel. */
  message(channel: string, raw: string): void {
    const topic = this.#byChannel.get(channel);
    const st = topic === undefined ? undefined : this.#topics.get(topic);
    if (!st || topic === undefined) return;
    const n = decodeMessage(raw);
    if (!n) {
      this.#logger.warn({ channel }, 'wardcast/redis: undecodable message ignored');
      return;
    }
    const last = st.last;
    // The common case: the next seq of the topic, nothing pending.
    if (this.#live && st.syncs === 0 && st.queue.length === 0 && last?.epoch === n.epoch && n.seq === last.seq + 1) {
      st.last = { epoch: n.epoch, seq: n.seq };
      this.#hand(n);
      return;
    }
    st.queue.push(n);
    this.#pump(topic, st);
  }

  /** The pub/sub connection dropped: hold everything until `up()`. */
  down(): void {
    this.#live = false;
  }

  /**
   * Resubscribed (to `subscribed`) after a (re)connect: reads every topic from its stream, then
   * goes live. Topics watched while that SUBSCRIBE was on its way are subscribed now.
   */
  up(subscribed: ReadonlySet<string>): void {
    this.#live = true;
    for (const [topic, st] of this.#topics) {
      if (subscribed.has(st.channel)) void this.#sync(topic, st);
      else
        void this.#subscribe(topic, st).catch((cause: unknown) => {
          this.#logger.warn({ err: cause, topic }, 'wardcast/redis: subscribe failed; retrying at the next connect');
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
    await this.#conns.sub.subscribe(st.channel);
    // Anything published from here on reaches us; the first read sets the starting point.
    if (this.#topics.get(topic) === st && this.#live) await this.#sync(topic, st);
  }

  #hand(n: StoredNotification): void {
    try {
      this.#deliver?.(n);
    } catch (cause) {
      this.#logger.error({ err: cause, topic: n.topic }, 'wardcast/redis: delivery threw');
    }
  }

  /** Hands over queued messages in order; a jump or a new epoch sends us to the stream first. */
  #pump(topic: string, st: TopicState): void {
    if (!this.#live || st.syncs > 0 || st.last === undefined) return;
    while (st.queue.length > 0) {
      const n = st.queue[0] as StoredNotification;
      const last: StreamPosition = st.last;
      if (n.epoch === last.epoch && n.seq <= last.seq) {
        st.queue.shift();
        continue;
      }
      if (n.epoch === last.epoch && n.seq === last.seq + 1) {
        st.queue.shift();
        st.last = { epoch: n.epoch, seq: n.seq };
        this.#hand(n);
        continue;
      }
      void this.#sync(topic, st);
      return;
    }
  }

  /**
   * Reads the stream after `last` and hands over what it holds, in order; the first read of a topic
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
          // Entries already trimmed: subscribers see the jump (clients report a gap). A new, still
          // empty epoch just becomes the starting point.
          if (read.position.seq > 0) {
            this.#logger.warn(
              { topic, from: last, to: read.position },
              'wardcast/redis: stream no longer covers a gap',
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
      this.#logger.warn({ err: cause, topic }, 'wardcast/redis: stream read failed; retrying');
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
