import { createNotificationClient, type NotificationClient } from '../client.js';
import type { ClientOptions, ClientStatus, StorageLike } from '../types.js';
import type { LeaderBody, LockManagerLike, Message, Positions, Relayed, RelayedEvent } from './messages.js';

/** What the tab that won the election hands to its leader. */
export interface LeaderSeed {
  readonly name: string;
  readonly userId: string;
  /** The leader's own tab and what it wants (until its `hello` replaces it). */
  readonly tab: string;
  readonly topics: readonly string[];
  readonly presence: readonly string[];
  readonly locks: LockManagerLike;
  readonly Channel: typeof BroadcastChannel;
  /** The leader tab's own client options (url, token provider, timings...). */
  readonly options: ClientOptions;
  /** Resume points this tab saw through the channel (all topics). */
  readonly positions: Positions;
  /** Recent notifications this tab saw through the channel, oldest first. */
  readonly recent: readonly Relayed[];
  readonly receipts: ReadonlyMap<string, 'ack' | 'read'>;
  /** Notifications and receipts kept for tabs that join later. */
  readonly replay: number;
  /** This leader's term: larger than that of every leader before it (stamped on each message). */
  readonly term: number;
  /** How often the leader says it is alive (`hb`), when it has nothing else to say. */
  readonly heartbeatMs: number;
  /** Called once when a leader of a later term speaks: this one was replaced (it was frozen) and must stop. */
  readonly onReplaced: () => void;
}

interface TabWants {
  readonly topics: ReadonlySet<string>;
  readonly presence: ReadonlySet<string>;
}

/**
 * The tab that holds the lock: owns the one real client, subscribes it to the union of the tabs'
 * topics (a topic is unsubscribed when no tab wants it any more), relays everything it receives
 * on the channel and answers newcomers with the current state. Lives until `close()` (the tab's
 * client closed, or its lock was stolen) or the tab's end (then the browser releases the lock and
 * another tab leads). Says it is alive every `heartbeatMs` (and when pinged), so that the tabs
 * notice when the browser freezes it, and stops as soon as it hears a leader of a later term.
 */
export class Leader {
  readonly #seed: LeaderSeed;
  readonly #channel: BroadcastChannel;
  readonly #client: NotificationClient;
  readonly #tabs = new Map<string, TabWants>();
  readonly #watch = new AbortController();
  readonly #recent: Relayed[];
  readonly #receipts: Map<string, 'ack' | 'read'>;
  readonly #offs: (() => void)[];
  #positions: Positions;
  #mismatch = false;
  #closed = false;
  #lastPost = 0;
  readonly #beat: ReturnType<typeof setInterval>;

  constructor(seed: LeaderSeed) {
    this.#seed = seed;
    this.#recent = seed.recent.slice(-seed.replay);
    this.#receipts = new Map(seed.receipts);
    const o = seed.options;
    const key = `${o.storageKey ?? 'wardcast'}:positions`;
    // Resume points: the app's storage (a reload), overridden by what this tab saw through the channel.
    let stored: Positions = {};
    try {
      stored = JSON.parse(o.storage?.getItem(key) ?? '{}') ?? {};
    } catch {
      // Unreadable: the channel's positions alone.
    }
    this.#positions = { ...stored, ...seed.positions };
    const other = (): StorageLike | undefined => {
      try {
        return o.storage ?? (globalThis as { localStorage?: StorageLike }).localStorage;
      } catch {
        return undefined;
      }
    };
    // The real client reads its resume points from here once, and writes them here on every change.
    const storage: StorageLike = {
      getItem: (k) => (k === key ? JSON.stringify(this.#positions) : (other()?.getItem(k) ?? null)),
      setItem: (k, v) => {
        if (k === key) {
          this.#positions = JSON.parse(v) as Positions;
          this.#post({ t: 'pos', p: this.#positions });
          o.storage?.setItem(k, v);
        } else other()?.setItem(k, v);
      },
    };
    this.#channel = new seed.Channel(seed.name);
    this.#channel.onmessage = (event: MessageEvent) => this.#onMessage(event.data as Message);
    this.#tabs.set(seed.tab, { topics: new Set(seed.topics), presence: new Set(seed.presence) });
    const client = createNotificationClient({
      ...o,
      topics: seed.topics,
      presence: seed.presence,
      storage,
      autoConnect: false,
    });
    this.#client = client;
    const relay =
      <E extends RelayedEvent['e']>(e: E) =>
      (a: Extract<RelayedEvent, { e: E }>['a']) =>
        this.#post({ t: 'ev', e, a } as LeaderBody);
    this.#offs = [
      client.on('notification', (n) => {
        const relayed = n as Relayed;
        this.#recent.push(relayed);
        if (this.#recent.length > seed.replay) this.#recent.shift();
        this.#post({ t: 'n', n: relayed });
      }),
      client.on('status', (s) => this.#onStatus(s)),
      client.on('latency', relay('latency')),
      client.on('gap', relay('gap')),
      client.on('denied', relay('denied')),
      client.on('revoked', relay('revoked')),
      client.on('refused', relay('refused')),
      client.on('presence', relay('presence')),
      client.on('telemetry', relay('telemetry')),
      client.on('receipt', (r) => {
        this.#receipts.delete(r.id);
        this.#receipts.set(r.id, r.action === 'ack' || this.#receipts.get(r.id) === 'ack' ? 'ack' : 'read');
        if (this.#receipts.size > seed.replay * 4) this.#receipts.delete(this.#receipts.keys().next().value as string);
        this.#post({ t: 'ev', e: 'receipt', a: r });
      }),
      client.on('error', (err) =>
        this.#post({
          t: 'ev',
          e: 'error',
          a: { code: err.code, message: err.message, ...(err.status !== undefined && { status: err.status }) },
        }),
      ),
    ];
    // Every tab (this one too) answers with its topics; the real client connects meanwhile.
    this.#post({ t: 'leader', u: seed.userId });
    // Any message is a sign of life: the heartbeat fills the silences (a timer is cheap; a frozen tab runs none).
    const beat = Math.max(50, seed.heartbeatMs);
    this.#beat = setInterval(() => {
      if (Date.now() - this.#lastPost >= beat / 2) this.#post({ t: 'hb' });
    }, beat);
    client.connect();
  }

  /** The term stamped on this leader's messages. */
  get term(): number {
    return this.#seed.term;
  }

  /** Stops leading: closes the real client without telling the tabs it closed (another tab takes over). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#beat);
    for (const off of this.#offs) off();
    this.#watch.abort();
    this.#client.close();
    this.#channel.close();
  }

  #post(message: LeaderBody): void {
    if (this.#closed) return;
    this.#lastPost = Date.now();
    this.#channel.postMessage({ ...message, k: this.#seed.term });
  }

  #onStatus(s: ClientStatus): void {
    // Never share a socket between principals: the hub says whose token this is.
    if (s.state === 'open' && s.userId !== this.#seed.userId) {
      this.#mismatch = true;
      for (const off of this.#offs) off();
      this.#client.close();
      this.#post({
        t: 'ev',
        e: 'error',
        a: {
          code: 'auth_user_mismatch',
          message: 'the token is not the declared userId: the connection is not shared',
        },
      });
      this.#post({
        t: 'status',
        s: { state: 'closed', reason: { code: 4403, reason: 'user mismatch', fatal: true } },
        l: undefined,
      });
      return;
    }
    this.#post({ t: 'status', s, l: this.#client.latencyMs });
  }

  #onMessage(m: Message): void {
    if (!m || typeof m !== 'object' || this.#closed) return;
    if ('k' in m) {
      // Another leader speaks: a later one took the lock while this tab was frozen. Stop at once.
      if (typeof m.k === 'number' && m.k > this.#seed.term) this.#seed.onReplaced();
      return;
    }
    // Alive, even when refusing to share (a mismatch): otherwise the tabs would take over, again and again.
    if (m.t === 'ping') {
      this.#post({ t: 'hb' });
      return;
    }
    if (this.#mismatch) return;
    switch (m.t) {
      case 'hello': {
        if (m.u !== this.#seed.userId) return;
        if (!this.#tabs.has(m.tab)) this.#watchTab(m.tab);
        this.#tabs.set(m.tab, { topics: new Set(m.topics), presence: new Set(m.presence) });
        this.#sync();
        if (m.state) this.#sendState(m.tab);
        return;
      }
      case 'receipt':
        if (m.action === 'ack') this.#client.ack(m.id);
        else this.#client.markRead(m.id);
        return;
      case 'bye':
        if (this.#tabs.delete(m.tab)) this.#sync();
        return;
      default:
        return;
    }
  }

  /** The tab holds its own lock for its life: granted to us once it is gone (closed or crashed). */
  #watchTab(tab: string): void {
    this.#seed.locks
      .request(`${this.#seed.name}:tab:${tab}`, { mode: 'exclusive', signal: this.#watch.signal }, () => {
        if (this.#tabs.delete(tab)) this.#sync();
      })
      .catch(() => {
        // Aborted: this leader stepped down.
      });
  }

  /** Subscribes the real client to the union of the tabs' topics, reference counted. */
  #sync(): void {
    const wanted = new Map<string, boolean>();
    for (const { topics, presence } of this.#tabs.values()) {
      for (const topic of topics) wanted.set(topic, wanted.get(topic) === true || presence.has(topic));
    }
    const client = this.#client;
    for (const topic of client.topics) if (!wanted.has(topic)) client.unsubscribe(topic);
    for (const [topic, presence] of wanted) client.subscribe(topic, { presence });
  }

  #sendState(tab: string): void {
    const client = this.#client;
    this.#post({
      t: 'state',
      to: tab,
      u: this.#seed.userId,
      items: this.#recent,
      receipts: [...this.#receipts],
      positions: this.#positions,
      status: client.status,
      latencyMs: client.latencyMs,
      presence: client.presence,
      telemetry: client.telemetry,
    });
  }
}
