import { type ErrorCode, isValidTopic, WardcastError } from '@wardcast/protocol/lean';
import { NotificationClient } from '../client.js';
import { Emitter } from '../emitter.js';
import type {
  ClientEvents,
  ClientNotification,
  ClientStatus,
  NotificationMap,
  StreamPosition,
  TelemetryFrame,
} from '../types.js';
import { Leader } from './leader.js';
import {
  type LeaderMessage,
  type LockManagerLike,
  type Message,
  type Relayed,
  type StateMessage,
  shareName,
  type sharingSupport,
  type TabMessage,
  tabId,
} from './messages.js';
import { heartbeatMs, leaderTimeoutMs, replayLength, type SharedClientOptions, supportFor } from './options.js';

/**
 * A notification client whose tabs share one connection: one tab (elected with the Web Locks
 * API) holds the socket and relays over a `BroadcastChannel`; the others mirror it. Same API as
 * {@link NotificationClient}. Create it with {@link createSharedNotificationClient}.
 *
 * @category Client
 */
export class SharedNotificationClient<M extends object = NotificationMap> extends NotificationClient<M> {
  readonly #o: SharedClientOptions;
  readonly #events = new Emitter<ClientEvents<M>>();
  /** `undefined`: not shared, this is a plain `NotificationClient` with its own socket. */
  readonly #support: ReturnType<typeof sharingSupport>;
  readonly #name: string | undefined;
  readonly #tab = tabId();
  readonly #topics: Set<string>;
  readonly #presenceTopics: Set<string>;
  #status: ClientStatus = { state: 'idle' };
  #latencyMs: number | undefined;
  #telemetry: TelemetryFrame | undefined;
  #members: Record<string, readonly string[]> = {};
  /** Resume points of every topic the leader relays (what a new leader resumes from). */
  #positions: Record<string, StreamPosition> = {};
  /**
   * The last notification of each topic handed to the app. A tab that comes back (thawed, or
   * after its leader role ended) catches up from the leader's recent notifications
   * (`shareReplay`); when they do not reach back that far, the next one delivered is not the next
   * seq, and the tab says so with a `gap` event (resync that topic, e.g. from the inbox) instead of
   * leaving a silent hole.
   */
  readonly #deliveredAt = new Map<string, StreamPosition>();
  /** Ids handed to the app, oldest first (dedupe). */
  readonly #seen = new Set<string>();
  /** Recent notifications of every topic, and receipts: what this tab hands on if it comes to lead. */
  readonly #recent: Relayed[] = [];
  readonly #receipts = new Map<string, 'ack' | 'read'>();
  /** Acks and reads sent to the leader, not yet confirmed: sent again to a new leader. */
  readonly #pending = new Map<string, { readonly action: 'ack' | 'read'; readonly id: string }>();
  /** Until the leader's state arrives, relayed notifications wait here (so that they come after it, in order). */
  #queue: Relayed[] | undefined = [];
  #channel: BroadcastChannel | undefined;
  #leader: Leader | undefined;
  /** Lets go of the election lock this tab holds as leader. */
  #unlock: (() => void) | undefined;
  /** This tab's current request for the election lock (aborted to replace it with a steal). */
  #election: AbortController | undefined;
  /** The election whose lock this tab's leader holds. */
  #leaderOf: AbortController | undefined;
  #stop: AbortController | undefined;
  #release: (() => void)[] = [];
  #running = false;
  /** The term of the current leader (the highest seen): messages of an earlier one are stale. */
  #term = 0;
  /** When the current leader was last heard from (`Date.now()`). */
  #heard = 0;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  /** A takeover is being considered (pinged, waiting) or asked for. */
  #probing = false;
  /**
   * The tab this tab would take the lock from (the silent leader, as `query` names it), and how
   * many takeovers from it this tab found under way since it last heard a new leader.
   */
  #from: string | undefined;
  #tries = 0;

  constructor(options: SharedClientOptions) {
    const support = supportFor(options);
    // Not shared: the base class is this tab's own client. Shared: it stays idle (the leader tab's Leader has the socket).
    super(
      support
        ? { url: options.url, ...(options.token === undefined ? {} : { token: options.token }), autoConnect: false }
        : { ...options, autoConnect: false },
    );
    this.#o = options;
    this.#support = support;
    this.#presenceTopics = new Set(options.presence);
    this.#topics = new Set([...(options.topics ?? []), ...this.#presenceTopics].filter(isValidTopic));
    this.#name = support && shareName(options.userId as string, options);
    if (options.autoConnect !== false) this.connect();
  }

  /** Whether this tab shares a connection with the others (`false`: it has its own socket). */
  get shared(): boolean {
    return this.#support !== undefined;
  }

  /** Whether this tab holds the shared socket. */
  get leader(): boolean {
    return this.#leader !== undefined;
  }

  override get status(): ClientStatus {
    return this.#support ? this.#status : super.status;
  }

  override get latencyMs(): number | undefined {
    return this.#support ? this.#latencyMs : super.latencyMs;
  }

  override get topics(): readonly string[] {
    return this.#support ? [...this.#topics] : super.topics;
  }

  override get telemetry(): TelemetryFrame | undefined {
    return this.#support ? this.#telemetry : super.telemetry;
  }

  override get presence(): Readonly<Record<string, readonly string[]>> {
    if (!this.#support) return super.presence;
    return Object.fromEntries(Object.entries(this.#members).filter(([t]) => this.#presenceTopics.has(t)));
  }

  override get pendingReceipts(): number {
    return this.#support ? this.#pending.size : super.pendingReceipts;
  }

  override on<K extends keyof ClientEvents<M>>(event: K, listener: (...args: ClientEvents<M>[K]) => void): () => void {
    const off = this.#events.on(event, listener);
    if (this.#support) return off;
    const offBase = super.on(event, listener);
    return () => {
      off();
      offBase();
    };
  }

  override connect(): void {
    const support = this.#support;
    if (!support) {
      if (!this.#running && this.#o.shareAcrossTabs !== false && !this.#o.userId)
        queueMicrotask(() =>
          this.#error('invalid_option', 'shareAcrossTabs needs userId: this tab has its own socket'),
        );
      this.#running = true;
      super.connect();
      return;
    }
    if (this.#running) return;
    this.#running = true;
    const name = this.#name as string;
    const stop = new AbortController();
    this.#stop = stop;
    this.#queue = [];
    this.#setStatus({ state: 'connecting', attempt: 0 });
    const channel = new support.Channel(name);
    this.#channel = channel;
    channel.onmessage = (event: MessageEvent) => this.#onMessage(event.data as Message);
    // This tab's own lock, held for its life: the leader learns from it when the tab is gone.
    support.locks
      .request(`${name}:tab:${this.#tab}`, { mode: 'exclusive', signal: stop.signal }, () => {
        if (stop.signal.aborted) return;
        this.#hello(true);
        return new Promise<void>((release) => this.#release.push(release));
      })
      .catch(() => {
        // Aborted by close() before it was granted.
      });
    // The election: whoever holds this lock leads; the browser hands it on when that tab closes or crashes.
    this.#elect(false);
    // And when the leader tab is frozen (it keeps the lock), the others notice its silence.
    this.#heard = Date.now();
    const heartbeat = heartbeatMs(this.#o);
    this.#watchdog = setInterval(() => this.#checkLeader(), Math.max(25, heartbeat / 2));
  }

  override subscribe(topic: string, options?: { readonly presence?: boolean }): void {
    if (!this.#support) {
      super.subscribe(topic, options);
      return;
    }
    if (!isValidTopic(topic)) {
      this.#error('invalid_topic', `invalid topic "${String(topic).slice(0, 64)}"`);
      return;
    }
    const was = this.#presenceTopics.has(topic);
    const presence = options?.presence ?? was;
    if (this.#topics.has(topic) && presence === was) return;
    this.#topics.add(topic);
    if (presence) this.#presenceTopics.add(topic);
    else this.#presenceTopics.delete(topic);
    this.#hello(false);
  }

  override unsubscribe(topic: string): void {
    if (!this.#support) {
      super.unsubscribe(topic);
      return;
    }
    if (!this.#topics.delete(topic)) return;
    this.#presenceTopics.delete(topic);
    this.#deliveredAt.delete(topic);
    this.#hello(false);
  }

  override ack(id: string): void {
    if (this.#support) this.#receipt('ack', id);
    else super.ack(id);
  }

  override markRead(id: string): void {
    if (this.#support) this.#receipt('read', id);
    else super.markRead(id);
  }

  override close(): void {
    if (!this.#support) {
      this.#running = false;
      super.close();
      return;
    }
    if (!this.#running) return;
    this.#running = false;
    this.#post({ t: 'bye', tab: this.#tab });
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    this.#probing = false;
    this.#election?.abort();
    this.#election = undefined;
    this.#stepDown();
    this.#stop?.abort();
    for (const release of this.#release.splice(0)) release();
    this.#channel?.close();
    this.#channel = undefined;
    this.#setStatus({ state: 'closed', reason: { code: 1000, reason: 'client closed', fatal: true } });
  }

  // ---- sharing --------------------------------------------------------------------------------

  /**
   * Asks for the election lock: queued behind the leader, or `steal`ing it from a leader that went
   * silent (the browser froze it). Either way this tab leads while it holds it; if the lock is
   * stolen from it, it stops leading and queues up again.
   */
  #elect(steal: boolean): Promise<void> | undefined {
    const support = this.#support;
    if (!support || !this.#running) return;
    // One request at a time: a steal replaces the queued one (else the tab would lead twice).
    this.#election?.abort();
    const election = new AbortController();
    this.#election = election;
    const lead = () => {
      if (election.signal.aborted || !this.#running || this.#leader) return;
      this.#lead(support.locks, support.Channel, election);
      return new Promise<void>((unlock) => {
        this.#unlock = unlock;
      });
    };
    // A steal cannot be aborted (`signal` and `steal` do not go together): `lead` checks instead.
    return support.locks
      .request(
        this.#name as string,
        steal ? { mode: 'exclusive', steal: true } : { mode: 'exclusive', signal: election.signal },
        lead,
      )
      .then(
        () => {
          // Released: this tab stepped down (or closed).
        },
        () => {
          // Aborted before it was granted, or stolen from this tab while it led: then stop at once.
          if (this.#leaderOf === election) this.#replaced();
        },
      );
  }

  /** Stops leading: closes the real connection and lets go of the lock. */
  #stepDown(): void {
    const leader = this.#leader;
    this.#leader = undefined;
    this.#leaderOf = undefined;
    leader?.close();
    const unlock = this.#unlock;
    this.#unlock = undefined;
    unlock?.();
  }

  /** Another tab took over while this one was frozen: follow it (and queue up for the next election). */
  #replaced(): void {
    if (!this.#leader) return;
    this.#term = Math.max(this.#term, this.#leader.term);
    this.#stepDown();
    this.#heard = Date.now();
    this.#elect(false);
  }

  /**
   * The watchdog of the followers: when the leader has been silent for `shareLeaderTimeoutMs`,
   * ping it, wait a random while (so that one tab, not every tab, takes over), and take over if
   * still nobody spoke.
   */
  #checkLeader(): void {
    const support = this.#support;
    if (!support || !this.#running || this.#leader || this.#probing) return;
    if (Date.now() - this.#heard < leaderTimeoutMs(this.#o)) return;
    this.#probing = true;
    const asked = Date.now();
    this.#post({ t: 'ping', tab: this.#tab });
    // The tab that holds the lock now, the silent one (named by its term where `query` is missing).
    const name = this.#name as string;
    const term = `t${this.#term}`;
    const silent = Promise.resolve(support.locks.query?.()).then(
      (s) => s?.held?.find((l) => l.name === name)?.clientId ?? term,
      () => term,
    );
    const heartbeat = heartbeatMs(this.#o);
    setTimeout(
      () => void silent.then((from) => this.#takeOver(support.locks, from, asked)),
      heartbeat * (0.25 + 0.75 * Math.random()),
    );
  }

  /**
   * Steals the lock from the silent tab `from`, unless another tab is taking over from it: the
   * random waits of two tabs can end closer together than the new leader's first message takes to
   * reach the other (a busy machine), and each would steal the lock in turn, opening a connection
   * of its own. So a takeover first takes a second lock, named after the tab it replaces and held
   * while it leads: the other tabs that found that tab silent at the same time find it taken and
   * wait for the new leader instead. Found taken again a whole timeout later, with `from` still
   * holding the lock (the tab that took it over froze since), the next one is tried.
   */
  #takeOver(locks: LockManagerLike, from: string, asked: number): void {
    const stale = () => !this.#running || !!this.#leader || this.#heard >= asked;
    if (stale()) {
      this.#probing = false;
      return;
    }
    if (from !== this.#from) {
      this.#from = from;
      this.#tries = 0;
    }
    locks
      .request(`${this.#name}:from:${from}:${this.#tries}`, { mode: 'exclusive', ifAvailable: true }, (lock) => {
        this.#probing = false;
        if (!lock) {
          // Another tab is taking over: a whole timeout for it to speak.
          this.#tries++;
          this.#heard = Date.now();
          return;
        }
        // Held until this tab stops leading (or the steal comes to nothing).
        return stale() ? undefined : this.#elect(true);
      })
      .catch(() => {
        this.#probing = false;
      });
  }

  #lead(locks: LockManagerLike, Channel: typeof BroadcastChannel, election: AbortController): void {
    this.#leaderOf = election;
    // Later than every leader this tab heard of (and than any earlier leader: terms are times).
    const term = Math.max(Date.now(), this.#term + 1);
    const leader: Leader = new Leader({
      name: this.#name as string,
      term,
      heartbeatMs: heartbeatMs(this.#o),
      onReplaced: () =>
        queueMicrotask(() => {
          if (this.#leader === leader) this.#replaced();
        }),
      userId: this.#o.userId as string,
      locks,
      Channel,
      options: this.#o,
      tab: this.#tab,
      topics: [...this.#topics],
      presence: [...this.#presenceTopics],
      positions: this.#positions,
      recent: this.#recent,
      receipts: this.#receipts,
      replay: replayLength(this.#o),
    });
    this.#leader = leader;
  }

  #post(message: TabMessage): void {
    this.#channel?.postMessage(message);
  }

  #hello(state: boolean): void {
    if (state) this.#queue ??= [];
    this.#post({
      t: 'hello',
      tab: this.#tab,
      u: this.#o.userId as string,
      topics: [...this.#topics],
      presence: [...this.#presenceTopics],
      state,
    });
  }

  #receipt(action: 'ack' | 'read', id: string): void {
    const key = `${action} ${id}`;
    if (this.#pending.has(key)) return;
    this.#pending.set(key, { action, id });
    this.#post({ t: 'receipt', tab: this.#tab, action, id });
  }

  #onMessage(m: Message): void {
    if (!m || typeof m !== 'object' || !('k' in m) || typeof m.k !== 'number') return;
    // A leader that was frozen while another took over: what it still sends is stale.
    if (m.k < this.#term) return;
    if (m.t === 'leader' && m.u !== this.#o.userId) return;
    this.#heard = Date.now();
    if (m.k > this.#term) {
      // A new leader (the first, or after a handover or a takeover): tell it what this tab wants, and what it still owes.
      this.#term = m.k;
      this.#from = undefined;
      this.#hello(true);
      for (const { action, id } of this.#pending.values()) this.#post({ t: 'receipt', tab: this.#tab, action, id });
    }
    switch (m.t) {
      case 'n':
        this.#remember(m.n);
        if (this.#queue) this.#queue.push(m.n);
        else this.#deliver(m.n);
        return;
      case 'pos':
        this.#positions = m.p;
        return;
      case 'status':
        this.#latencyMs = m.l;
        this.#setStatus(m.s);
        return;
      case 'ev':
        this.#onEvent(m);
        return;
      case 'state':
        if (m.to === this.#tab && m.u === this.#o.userId) this.#onState(m);
        return;
      default:
        return;
    }
  }

  #onState(m: StateMessage): void {
    this.#positions = { ...this.#positions, ...m.positions };
    this.#telemetry = m.telemetry;
    this.#members = { ...m.presence };
    this.#latencyMs = m.latencyMs;
    const known = new Set(this.#recent.map((n) => n.id));
    const missing = m.items.filter((n) => !known.has(n.id));
    if (missing.length) {
      this.#recent.unshift(...missing);
      this.#trimRecent();
    }
    const queued = this.#queue ?? [];
    this.#queue = undefined;
    for (const n of m.items) this.#deliver(n);
    for (const n of queued) this.#deliver(n);
    for (const [id, action] of m.receipts) this.#onReceipt({ id, action });
    this.#setStatus(m.status);
  }

  #onEvent(m: Extract<LeaderMessage, { t: 'ev' }>): void {
    const mine = (topic: string) => this.#topics.has(topic);
    switch (m.e) {
      case 'receipt':
        this.#onReceipt(m.a);
        return;
      case 'refused':
        this.#pending.delete(`${m.a.action} ${m.a.id}`);
        this.#events.emit('refused', m.a);
        return;
      case 'latency':
        this.#latencyMs = m.a;
        this.#events.emit('latency', m.a);
        return;
      case 'telemetry':
        this.#telemetry = m.a;
        this.#events.emit('telemetry', m.a);
        return;
      case 'presence':
        this.#members = { ...this.#members, [m.a.topic]: m.a.members };
        if (this.#presenceTopics.has(m.a.topic)) this.#events.emit('presence', m.a);
        return;
      case 'gap':
      case 'denied':
        // The leader's client reported it: the next notification of the topic is not checked again.
        if (m.e === 'gap') this.#deliveredAt.delete(m.a.topic);
        if (mine(m.a.topic)) this.#events.emit(m.e, m.a as never);
        return;
      case 'revoked':
        if (this.#topics.delete(m.a.topic)) {
          this.#deliveredAt.delete(m.a.topic);
          this.#presenceTopics.delete(m.a.topic);
          this.#events.emit('revoked', m.a);
        }
        return;
      case 'error':
        this.#events.emit(
          'error',
          Object.assign(new WardcastError(m.a.code as ErrorCode, m.a.message), { status: m.a.status }),
        );
        return;
      default:
        return;
    }
  }

  #onReceipt(r: { readonly id: string; readonly action: 'ack' | 'read' }): void {
    const was = this.#receipts.get(r.id);
    const sent = this.#pending.delete(`${r.action} ${r.id}`);
    // Each receipt once per tab (a state replays those already seen), unless this tab asked for it.
    if (!sent && (was === 'ack' || was === r.action)) return;
    this.#receipts.delete(r.id);
    this.#receipts.set(r.id, r.action === 'ack' || was === 'ack' ? 'ack' : 'read');
    if (this.#receipts.size > replayLength(this.#o) * 4)
      this.#receipts.delete(this.#receipts.keys().next().value as string);
    this.#events.emit('receipt', r);
  }

  /** Keeps the position and the notification (for a handover), whatever its topic. */
  #remember(n: Relayed): void {
    this.#positions[n.topic] = { epoch: n.epoch, seq: n.seq };
    this.#recent.push(n);
    this.#trimRecent();
  }

  #trimRecent(): void {
    const over = this.#recent.length - replayLength(this.#o);
    if (over > 0) this.#recent.splice(0, over);
  }

  /** Hands a notification of one of this tab's topics to the app, once per id. */
  #deliver(n: Relayed): void {
    if (!this.#topics.has(n.topic) || this.#seen.has(n.id)) return;
    this.#seen.add(n.id);
    if (this.#seen.size > (this.#o.dedupeWindow ?? 2_000))
      this.#seen.delete(this.#seen.values().next().value as string);
    const last = this.#deliveredAt.get(n.topic);
    this.#deliveredAt.set(n.topic, { epoch: n.epoch, seq: n.seq });
    if (last !== undefined && (n.epoch !== last.epoch || n.seq > last.seq + 1)) {
      this.#events.emit('gap', { topic: n.topic, reason: n.epoch === last.epoch ? 'seq_jump' : 'epoch_changed' });
    }
    this.#events.emit('notification', n as unknown as ClientNotification<M>);
  }

  #setStatus(status: ClientStatus): void {
    if (status.state === 'open' && status.userId !== this.#o.userId) return;
    this.#status = status;
    this.#events.emit('status', status);
  }

  #error(code: ErrorCode, message: string): void {
    this.#events.emit('error', new WardcastError(code, message));
  }
}

/**
 * Creates a client whose tabs share one connection per browser profile and user: one tab
 * (elected with the Web Locks API) holds the socket, the others get everything over a
 * `BroadcastChannel`. Each tab keeps its own topics (the leader subscribes to their union) and
 * sees the same notifications, receipts and status; a closed or crashed leader tab hands over
 * at once (a frozen one after `shareLeaderTimeoutMs` of silence: another tab steals its lock) and
 * the next one resumes where the channel left off, so nothing is lost or repeated.
 * Where Web Locks or `BroadcastChannel` are missing, or without `userId`, each tab has its own
 * socket, as with `createNotificationClient`.
 *
 * @example
 * ```ts
 * import { createSharedNotificationClient } from '@wardcast/client/shared';
 *
 * const client = createSharedNotificationClient({
 *   url: 'wss://api.example-hospital.org/v1/ws/notifications',
 *   token: getToken,
 *   userId: me.id,
 *   topics: [`user:${me.id}`],
 * });
 * client.on('notification', (n) => console.log(n.kind));
 * ```
 *
 * @category Client
 */
export function createSharedNotificationClient<M extends object = NotificationMap>(
  options: SharedClientOptions,
): SharedNotificationClient<M> {
  return new SharedNotificationClient<M>(options);
}
