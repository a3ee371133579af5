import type {
  ClientFrame,
  NotificationFrame,
  PresenceFrame,
  ServerFrame,
  SubscriptionResult,
  TelemetryFrame,
} from '@wardcast/protocol';
// Values come from the zod-free entry: the client never loads the schemas.
import {
  decodeServerFrame,
  type ErrorCode,
  isValidTopic,
  MAX_TOPICS_PER_FRAME,
  PROTOCOL_2_QUERY,
  WardcastError,
} from '@wardcast/protocol/lean';
import { backoffDelay, type CloseInfo, DEFAULT_BACKOFF, defaultShouldRetry } from './backoff.js';
import { Emitter } from './emitter.js';
import { watchEnvironment } from './environment.js';
import { Outbox, type OutboxItem } from './outbox.js';
import { detach, OPEN } from './socket.js';
import { StreamTracker } from './streams.js';
import { DEFAULT_CLIENT_TIMINGS, MAX_RETRY_AFTER_MS } from './timings.js';
import { TransportChoice } from './transports.js';
import type {
  ClientEvents,
  ClientNotification,
  ClientOptions,
  ClientStatus,
  NotificationMap,
  Provider,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';

/** Numbers the `ref`s of acks and reads (module-level: a minifier shortens it, not a private field). */
let receiptRefs = 0;
const resolve = async <T>(p: Provider<T>): Promise<T> => (typeof p === 'function' ? (p as () => T | Promise<T>)() : p);

/**
 * A reconnecting, resuming, deduplicating subscriber to a Wardcast hub. Create it with
 * {@link createNotificationClient}.
 *
 * @category Client
 */
export class NotificationClient<M extends object = NotificationMap> {
  readonly #o: ClientOptions;
  readonly #events = new Emitter<ClientEvents<M>>();
  readonly #topics: Set<string>;
  /** Topics subscribed with `presence: true`, and their member lists. */
  readonly #presence: Set<string>;
  readonly #members = new Map<string, string[]>();
  #telemetry: TelemetryFrame | undefined;
  readonly #streams: StreamTracker;
  readonly #outbox = new Outbox();
  readonly #retryDelay: (attempt: number) => number;
  readonly #shouldRetry: (close: CloseInfo) => boolean;
  readonly #transports: TransportChoice;
  /** A frame came on the current socket. */
  #gotFrame = false;
  #status: ClientStatus = { state: 'idle' };
  #ws: WebSocketLike | undefined;
  #generation = 0;
  #attempt = 0;
  #authenticated = false;
  /**
   * The socket's topics went out in its `hello` (or, to a protocol 1 hub, in a `subscribe` right
   * behind its `auth`), without waiting for the hub's answer: one round trip and one server read
   * fewer per (re)connect. The hub handles a connection's frames in order, and drops them if the
   * authentication fails (it closes).
   */
  #subscribeSent = false;
  /** The token of the socket's `hello` (`null` until the provider answered), for `auth` on a protocol 1 hub. */
  #token: string | undefined | null = null;
  /** The hub sent `welcome`: it speaks protocol 1 (it ignored `protocol=2`), so the socket does too. */
  #v1 = false;
  /**
   * Topics `subscribe()` could not send yet. The `hello` carries those from before it; those from
   * after it (while it waits for `ready`) go out on `ready`.
   */
  readonly #held = new Set<string>();
  #latencyMs: number | undefined;
  #refreshes = 0;
  #timers = new Map<'retry' | 'ping' | 'deadline' | 'refresh' | 'fallback', ReturnType<typeof setTimeout>>();
  #unwatch: (() => void) | undefined;
  #offline = false;
  /** `retryAfterMs` of an `error` frame on the current connection (e.g. `too_many_connections`). */
  #retryAfterMs = 0;
  /** No reconnect before this time (ms since epoch): set from the hub's retry hint. */
  #notBefore = 0;

  constructor(options: ClientOptions) {
    this.#o = options;
    this.#presence = new Set(options.presence);
    this.#topics = new Set([...(options.topics ?? []), ...this.#presence].filter(isValidTopic));
    this.#streams = new StreamTracker(options.dedupeWindow ?? 2_000, options.storage, options.storageKey ?? 'wardcast');
    const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#retryDelay = options.retryDelay ?? ((attempt) => backoffDelay(attempt, backoff));
    this.#shouldRetry = options.shouldRetry ?? defaultShouldRetry;
    this.#transports = new TransportChoice(
      options,
      options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
    );
    if (options.autoConnect !== false) this.connect();
  }

  /** Current connection status. */
  get status(): ClientStatus {
    return this.#status;
  }

  /** Last measured round trip of an application ping, ms (`undefined` until measured). */
  get latencyMs(): number | undefined {
    return this.#latencyMs;
  }

  /** Topics this client subscribes to on every connect. */
  get topics(): readonly string[] {
    return [...this.#topics];
  }

  /** Last `telemetry` frame (with the `telemetry` option), `undefined` before the first. */
  get telemetry(): TelemetryFrame | undefined {
    return this.#telemetry;
  }

  /** Member lists (user ids) of the topics followed with presence, by topic. */
  get presence(): Readonly<Record<string, readonly string[]>> {
    return Object.fromEntries(this.#members);
  }

  /** Acks and reads not yet confirmed by the hub. */
  get pendingReceipts(): number {
    return this.#outbox.size;
  }

  /**
   * Listens to an event; returns the function that removes the listener.
   *
   * @example
   * ```ts
   * const off = client.on('notification', (n) => toast(n.kind));
   * off();
   * ```
   */
  on<K extends keyof ClientEvents<M>>(event: K, listener: (...args: ClientEvents<M>[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Starts connecting (only needed with `autoConnect: false`, or after `close()` to start again). */
  connect(): void {
    const state = this.#status.state;
    if (state === 'connecting' || state === 'open' || state === 'reconnecting') return;
    this.#attempt = 0;
    this.#notBefore = 0;
    this.#transports.reset();
    this.#unwatch ??= watchEnvironment({
      online: () => this.#onOnline(),
      offline: () => this.#onOffline(),
      visible: () => this.#onVisible(),
    });
    void this.#open();
  }

  /**
   * Adds a topic; subscribes at once when connected, otherwise on the next connect. With
   * `presence`, turns following the topic's members (`presence` events) on or off, re-subscribing
   * an already subscribed topic (it resumes; nothing is lost).
   */
  subscribe(topic: string, options?: { readonly presence?: boolean }): void {
    if (!isValidTopic(topic)) {
      // One bad name would make the hub refuse the whole subscribe frame on every connect.
      this.#error('invalid_topic', `invalid topic "${String(topic).slice(0, 64)}"`);
      return;
    }
    const was = this.#presence.has(topic);
    const presence = options?.presence ?? was;
    if (this.#topics.has(topic) && presence === was) return;
    this.#topics.add(topic);
    if (presence) this.#presence.add(topic);
    else this.#forgetPresence(topic);
    if (this.#sendsNow()) this.#sendSubscribe([topic]);
    else this.#held.add(topic);
  }

  /**
   * A `subscribe` or `unsubscribe` can go out now: the session is open, or the frames that open it
   * (`auth` and `subscribe` to a protocol 1 hub) went out before. While a `hello` is unanswered it
   * waits: `ready` catches up.
   */
  #sendsNow(): boolean {
    return this.#authenticated || (this.#v1 && this.#subscribeSent);
  }

  /** Removes a topic and forgets its resume point. */
  unsubscribe(topic: string): void {
    if (!this.#topics.delete(topic)) return;
    this.#forgetPresence(topic);
    this.#streams.forget(topic);
    if (this.#sendsNow()) this.#send({ type: 'unsubscribe', topics: [topic] });
  }

  /**
   * Acknowledges a notification. Queued while offline; resent after reconnects until the hub
   * confirms it (`receipt` event), or drops it when the hub refuses the id (`refused` event).
   */
  ack(id: string): void {
    const item: OutboxItem = { action: 'ack', id };
    if (this.#outbox.add(item) && this.#authenticated) this.#sendReceipt(item);
  }

  /** Marks a notification read (the hub records it in the user's inbox, shared by their devices). Queued like {@link ack}. */
  markRead(id: string): void {
    const item: OutboxItem = { action: 'read', id };
    if (this.#outbox.add(item) && this.#authenticated) this.#sendReceipt(item);
  }

  /** Closes the socket, stops reconnecting and removes every timer and listener it added. */
  close(): void {
    this.#generation++;
    this.#clearTimers();
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#streams.flush();
    const ws = this.#ws;
    this.#ws = undefined;
    this.#authenticated = false;
    this.#subscribeSent = false;
    if (ws) detach(ws, 1000, 'client closed');
    if (this.#status.state !== 'closed' && this.#status.state !== 'idle') {
      this.#setStatus({ state: 'closed', reason: { code: 1000, reason: 'client closed', fatal: true } });
    }
  }

  // ---- connection lifecycle ------------------------------------------------------------

  #setStatus(status: ClientStatus): void {
    this.#status = status;
    this.#events.emit('status', status);
  }

  #error(code: ErrorCode, message: string, cause?: unknown): void {
    this.#events.emit('error', new WardcastError(code, message, cause === undefined ? undefined : { cause }));
  }

  async #open(): Promise<void> {
    const generation = ++this.#generation;
    this.#clearTimers();
    this.#retryAfterMs = 0;
    this.#setStatus({ state: 'connecting', attempt: this.#attempt });
    let url: string;
    try {
      url = await resolve(this.#o.url);
    } catch (cause) {
      if (generation === this.#generation) this.#lost(generation, { code: 4000, reason: 'url provider failed' }, cause);
      return;
    }
    if (generation !== this.#generation) return;
    const transports = this.#transports;
    if (transports.size === 0) {
      this.#setStatus({ state: 'closed', reason: { code: 1006, reason: 'no WebSocket implementation', fatal: true } });
      this.#error('websocket_unavailable', 'no WebSocket implementation: pass the WebSocket option (ws)');
      return;
    }
    this.#gotFrame = false;
    let ws: WebSocketLike;
    try {
      ws = new (transports.next())(`${url}${url.includes('?') ? '&' : '?'}${PROTOCOL_2_QUERY}`);
    } catch (cause) {
      this.#lost(generation, { code: 1006, reason: 'could not open socket' }, cause);
      return;
    }
    this.#ws = ws;
    // Covers a connection that never opens or never authenticates; every frame re-arms it.
    this.#armLiveness(generation);
    if (transports.canFallBack)
      this.#timer('fallback', this.#o.fallbackTimeoutMs ?? 5_000, () =>
        this.#lost(generation, { code: 1006, reason: 'no frame from the hub' }),
      );
    this.#authenticated = this.#subscribeSent = this.#v1 = false;
    this.#token = null;
    let opened = false;
    /** HTTP status of a refused upgrade: `ws` reports it in its error, a browser never does. */
    let status: number | undefined;
    ws.onopen = () => {
      opened = true;
      if (generation !== this.#generation) return;
      void this.#authenticate(generation, undefined);
      // A protocol 2 hub is silent until its `ready` (after the token and the topics' history are
      // checked): its answer to a ping shows this transport works, before the fallback timer runs out.
      if (transports.canFallBack) this.#send({ type: 'ping', ts: Date.now() });
    };
    ws.onmessage = (event) => {
      if (generation === this.#generation) this.#onFrame(generation, event.data);
    };
    ws.onclose = (event) => {
      if (generation !== this.#generation) return;
      const close = { code: event.code, reason: event.reason };
      if (!opened)
        this.#events.emit(
          'error',
          Object.assign(
            new WardcastError(
              'handshake_failed',
              status ? `hub refused the upgrade: HTTP ${status}` : 'closed before open',
            ),
            { status },
          ),
        );
      // 403 (origin refused) will not fix itself; 429 and 503 are retried with backoff.
      this.#lost(generation, close, undefined, status === 403);
    };
    ws.onerror = (event) => {
      const m = /response: (\d+)/.exec(String((event as { message?: unknown })?.message));
      if (m) status = +(m[1] as string);
    };
  }

  /** Opens the session (`ref` undefined: the socket's handshake) or refreshes its token (`auth` with `ref`). */
  async #authenticate(generation: number, ref: string | undefined): Promise<void> {
    const provider = this.#o.token;
    // No token: the upgrade request (a cookie, a header) authenticates; `hello` goes out at once.
    let token: string | undefined;
    if (provider !== undefined) {
      try {
        token = await resolve(provider);
      } catch (cause) {
        if (generation !== this.#generation) return;
        this.#error('auth_failed', 'token provider failed', cause);
        if (ref === undefined) this.#lost(generation, { code: 4000, reason: 'token provider failed' });
        return;
      }
      if (generation !== this.#generation) return;
    }
    if (ref) this.#send({ type: 'auth', token: token as string, ref });
    else {
      this.#token = token;
      this.#handshake(token);
    }
  }

  /**
   * The socket's first frames: one `hello`, or, once the hub's `welcome` showed it speaks protocol
   * 1, `auth` (with a token) and `subscribe`. The topics go with them when they fit one frame
   * (within any hub's pre-authentication budget); more wait for the session to open.
   */
  #handshake(token: string | undefined): void {
    const size = this.#topics.size;
    const topics = size > 0 && size <= MAX_TOPICS_PER_FRAME && this.#entries([...this.#topics]);
    this.#subscribeSent = !!topics;
    this.#held.clear();
    if (!this.#v1)
      this.#send({ type: 'hello', ...(token !== undefined && { token }), ...(topics && { topics }), ref: 'h' });
    else {
      if (token !== undefined) this.#send({ type: 'auth', token });
      if (topics) this.#send({ type: 'subscribe', topics });
    }
  }

  /** The socket is gone (closed, dead or never opened): retry or stop. */
  #lost(generation: number, close: CloseInfo, cause?: unknown, fatal?: boolean): void {
    if (generation !== this.#generation) return;
    this.#generation++;
    this.#clearTimers();
    const ws = this.#ws;
    this.#ws = undefined;
    this.#authenticated = false;
    this.#subscribeSent = false;
    if (ws) detach(ws, 4000, close.reason);
    if (cause !== undefined) this.#error('internal_error', close.reason, cause);
    // Nothing came over this transport: the next one is tried at once (WebSocket blocked, or buffered).
    if (ws && !this.#gotFrame && !this.#offline && this.#transports.canFallBack) {
      this.#transports.fallBack();
      void this.#open();
      return;
    }
    this.#transports.reset();
    if (fatal || !this.#shouldRetry(close)) {
      this.#setStatus({ state: 'closed', reason: { ...close, fatal: true } });
      return;
    }
    const attempt = this.#attempt++;
    // The hub's hint (a refusal for the connection limit) is a floor under the jittered backoff.
    const hint = Math.min(this.#retryAfterMs, MAX_RETRY_AFTER_MS);
    this.#retryAfterMs = 0;
    const delayMs = Math.max(0, this.#retryDelay(attempt), hint);
    this.#notBefore = hint > 0 ? Date.now() + hint : 0;
    this.#setStatus({ state: 'reconnecting', attempt: this.#attempt, delayMs, lastClose: close });
    if (!this.#offline) this.#timer('retry', delayMs, () => void this.#open());
  }

  // ---- frames ------------------------------------------------------------------------------

  #send(frame: ClientFrame): void {
    const ws = this.#ws;
    if (ws && ws.readyState === OPEN) ws.send(JSON.stringify(frame));
  }

  #onFrame(generation: number, data: unknown): void {
    this.#lastFrameAt = Date.now();
    if (!this.#gotFrame) this.#transportWorks();
    const parsed = decodeServerFrame(data);
    if (!parsed.ok) {
      this.#error('bad_frame', `hub sent a bad frame: ${parsed.error.message}`);
      return;
    }
    this.#handle(generation, parsed.frame);
  }

  #handle(generation: number, frame: ServerFrame): void {
    switch (frame.type) {
      case 'notification':
        this.#onNotification(frame);
        return;
      case 'ready': {
        // Protocol 2: `welcome`, `authenticated` and `subscribed` in one frame.
        this.#sessionId = frame.sessionId;
        this.#onAuthenticated(generation, frame.userId, frame.expiresAt);
        this.#onSubscribed(frame.topics);
        // Topics left or (re)subscribed while the `hello` was out were held back (a protocol 1 hub
        // closes on a frame ahead of `auth`): they go out now, from the resume points `ready` gave.
        const left = frame.topics.map((r) => r.topic).filter((t) => !this.#topics.has(t));
        if (left.length) this.#send({ type: 'unsubscribe', topics: left });
        this.#sendSubscribe([...this.#held].filter((t) => this.#topics.has(t)));
        return;
      }
      case 'authenticated':
        this.#onAuthenticated(generation, frame.userId, frame.expiresAt);
        return;
      case 'subscribed':
        this.#onSubscribed(frame.topics);
        return;
      case 'receipt':
        this.#outbox.confirm(frame.action, frame.id);
        this.#events.emit('receipt', { id: frame.id, action: frame.action });
        return;
      case 'unsubscribed':
        // With a `code`: the hub removed these topics (re-authorization); never subscribed again by itself.
        if (frame.code)
          for (const topic of frame.topics)
            if (this.#topics.delete(topic)) {
              this.#forgetPresence(topic);
              this.#streams.forget(topic);
              this.#events.emit('revoked', { topic, code: frame.code });
            }
        return;
      case 'pong':
        if (frame.ts !== undefined) {
          this.#latencyMs = Math.max(0, Date.now() - frame.ts);
          this.#events.emit('latency', this.#latencyMs);
        }
        return;
      case 'error': {
        if (frame.retryAfterMs !== undefined) this.#retryAfterMs = frame.retryAfterMs;
        // A refused ack or read is dropped: resending it cannot help (a `store_unavailable` one is kept).
        if (frame.ref && frame.code === 'unknown_notification')
          for (const item of this.#outbox.items())
            if (item.ref === frame.ref) {
              this.#outbox.confirm(item.action, item.id);
              this.#events.emit('refused', { id: item.id, action: item.action });
            }
        // A hub refusing the `hello` because it speaks protocol 1 (`unknown_type` from an older hub, or
        // `bad_frame` after its `welcome`, the query lost on the way): the fallback answers it.
        if (frame.ref !== 'h' || !(this.#v1 || frame.code === 'unknown_type'))
          this.#error(frame.code as ErrorCode, frame.message);
        return;
      }
      case 'welcome':
        // The hub speaks protocol 1: the `hello` went (or goes) unanswered; `auth` and `subscribe` do its work.
        this.#v1 = true;
        this.#sessionId = frame.sessionId;
        if (!frame.authenticated && this.#o.token === undefined) {
          this.#error('auth_failed', 'the upgrade request did not authenticate and no token is set');
          this.#lost(generation, { code: 4401, reason: 'not authenticated' }, undefined, true);
        } else if (this.#token !== null) this.#handshake(this.#token);
        return;
      case 'presence':
        this.#onPresence(frame);
        return;
      case 'telemetry':
        this.#telemetry = frame;
        this.#events.emit('telemetry', frame);
        return;
      default:
        return;
    }
  }

  #sessionId = '';
  /** When the last frame of the current socket arrived (ms since epoch). */
  #lastFrameAt = 0;
  readonly #sentSince = new Set<string>();

  #onAuthenticated(generation: number, userId: string, expiresAt: number | undefined): void {
    // Refreshing only helps when the token provider can produce a new token.
    if (expiresAt !== undefined && typeof this.#o.token === 'function') {
      const leeway = this.#o.refreshLeewayMs ?? DEFAULT_CLIENT_TIMINGS.refreshLeewayMs;
      const remaining = expiresAt - Date.now();
      // A token that lives shorter than the leeway is refreshed half-way through its life.
      const delay = remaining > leeway ? remaining - leeway : remaining / 2;
      this.#timer('refresh', Math.max(1_000, delay), () => {
        void this.#authenticate(generation, `refresh-${++this.#refreshes}`);
      });
    }
    if (this.#authenticated) return;
    this.#authenticated = true;
    this.#attempt = 0;
    this.#setStatus({ state: 'open', sessionId: this.#sessionId, userId });
    if (!this.#subscribeSent) this.#sendSubscribe([...this.#topics]);
    if (this.#o.telemetry) this.#send({ type: 'telemetry', enabled: true });
    for (const item of this.#outbox.items()) this.#sendReceipt(item);
    this.#ping(generation);
  }

  /** The hub's result per subscribed topic: `denied` and `gap` events, new resume points. */
  #onSubscribed(results: readonly SubscriptionResult[]): void {
    for (const result of results) {
      const gap = this.#streams.subscribed(result, this.#sentSince.has(result.topic));
      this.#sentSince.delete(result.topic);
      if (result.status === 'denied')
        this.#events.emit('denied', { topic: result.topic, code: result.code ?? 'denied' });
      if (gap) this.#events.emit('gap', gap);
    }
  }

  /** Sends an ack or read with a fresh `ref` (kept on the item), so that a refusal can be matched to it. */
  #sendReceipt(item: OutboxItem): void {
    item.ref = `k${++receiptRefs}`;
    this.#send({ type: item.action, id: item.id, ref: item.ref });
  }

  #sendSubscribe(topics: string[]): void {
    const entries = this.#entries(topics);
    for (let i = 0; i < entries.length; i += MAX_TOPICS_PER_FRAME)
      this.#send({ type: 'subscribe', topics: entries.slice(i, i + MAX_TOPICS_PER_FRAME) });
  }

  /** The `subscribe` (or `hello`) items of `topics`, each from its resume point; marks them as being subscribed. */
  #entries(topics: string[]) {
    this.#streams.subscribing(topics);
    return topics.map((topic) => {
      const since = this.#streams.position(topic);
      if (since) this.#sentSince.add(topic);
      else this.#sentSince.delete(topic);
      return {
        topic,
        ...(since && { since }),
        ...(this.#presence.has(topic) && { presence: true }),
        ...(this.#o.phi !== undefined && this.#o.phi !== 'full' && { phi: this.#o.phi }),
        ...(this.#o.unread !== false && topic.startsWith('user:') && { unread: true }),
      };
    });
  }

  /** A full list replaces the one kept; joins and leaves update it. */
  #onPresence({ topic, members, joined = [], left = [] }: PresenceFrame): void {
    if (!this.#presence.has(topic)) return;
    const list = (members ?? this.#members.get(topic) ?? []).filter((u) => !left.includes(u));
    for (const u of joined) if (!list.includes(u)) list.push(u);
    this.#members.set(topic, list.sort());
    this.#events.emit('presence', { topic, members: list });
  }

  #forgetPresence(topic: string): void {
    this.#presence.delete(topic);
    this.#members.delete(topic);
  }

  #onNotification(frame: NotificationFrame): void {
    if (!this.#topics.has(frame.topic)) return;
    const verdict = this.#streams.accept(frame);
    if (verdict.gap) this.#events.emit('gap', { topic: frame.topic, reason: verdict.gap });
    if (!verdict.deliver) return;
    const { type: _type, ...notification } = frame;
    this.#events.emit('notification', notification as unknown as ClientNotification<M>);
  }

  // ---- liveness ----------------------------------------------------------------------------

  #ping(generation: number): void {
    const interval = this.#o.pingIntervalMs ?? DEFAULT_CLIENT_TIMINGS.pingIntervalMs;
    this.#send({ type: 'ping', ts: Date.now() });
    // Only incoming frames push the deadline back; re-arming it on every ping would keep a silent link alive forever.
    if (!this.#timers.has('deadline')) this.#armLiveness(generation);
    this.#timer('ping', interval, () => this.#ping(generation));
  }

  /**
   * Any frame proves the link alive; with none for a ping interval plus the pong timeout, it is
   * dead. A frame only stamps its arrival (a timer per frame would cost more than decoding it):
   * the deadline, armed when the socket opens, checks the stamp when it fires and, if a frame came
   * since it was armed, waits out the rest of the deadline from that frame.
   */
  #armLiveness(generation: number, ms?: number): void {
    const deadline =
      (this.#o.pingIntervalMs ?? DEFAULT_CLIENT_TIMINGS.pingIntervalMs) +
      (this.#o.pongTimeoutMs ?? DEFAULT_CLIENT_TIMINGS.pongTimeoutMs);
    this.#timer('deadline', ms ?? deadline, () => {
      const idle = Date.now() - this.#lastFrameAt;
      // A clock set back (idle < 0) gets a whole deadline again.
      if (idle < deadline) this.#armLiveness(generation, Math.min(deadline, deadline - idle));
      else this.#lost(generation, { code: 1006, reason: 'heartbeat timeout' });
    });
  }

  #onOnline(): void {
    this.#offline = false;
    if (this.#status.state === 'reconnecting') this.#retrySoon();
  }

  #onOffline(): void {
    this.#offline = true;
    if (this.#ws) this.#lost(this.#generation, { code: 1006, reason: 'browser offline' });
  }

  #onVisible(): void {
    if (this.#status.state === 'reconnecting' && !this.#offline) this.#retrySoon();
    else if (this.#authenticated) this.#send({ type: 'ping', ts: Date.now() });
  }

  /** Reconnects now (back online, tab visible again), but not before the hub's retry hint allows. */
  #retrySoon(): void {
    const wait = this.#notBefore - Date.now();
    if (wait > 0) this.#timer('retry', wait, () => void this.#open());
    else void this.#open();
  }

  /** The first frame on this socket: its transport works; remembered when it is a fallback. */
  #transportWorks(): void {
    this.#gotFrame = true;
    clearTimeout(this.#timers.get('fallback'));
    this.#timers.delete('fallback');
    this.#transports.works();
  }

  #timer(name: 'retry' | 'ping' | 'deadline' | 'refresh' | 'fallback', ms: number, fn: () => void): void {
    const existing = this.#timers.get(name);
    if (existing !== undefined) clearTimeout(existing);
    const handle = setTimeout(() => {
      this.#timers.delete(name);
      fn();
    }, ms);
    (handle as { unref?: () => void }).unref?.();
    this.#timers.set(name, handle);
  }

  #clearTimers(): void {
    for (const handle of this.#timers.values()) clearTimeout(handle);
    this.#timers.clear();
  }
}

/**
 * Creates a client that connects to a Wardcast hub, authenticates in the first frame,
 * subscribes to `topics`, and keeps going: reconnects with jittered backoff, resumes each topic
 * from the last `{ epoch, seq }` it saw, dedupes by id, refreshes the token before it expires,
 * and replaces half-open links.
 *
 * @example
 * ```ts
 * import { createNotificationClient } from '@wardcast/client';
 *
 * const client = createNotificationClient({
 *   url: 'wss://api.example-hospital.org/v1/ws/notifications',
 *   token: () => fetch('/api/ws-token').then((r) => r.text()),
 *   topics: ['user:u1', 'patient:p9'],
 *   storage: localStorage,
 * });
 * client.on('notification', (n) => console.log(n.kind, n.payload));
 * client.on('gap', ({ topic }) => refetchInbox(topic));
 * ```
 *
 * @category Client
 */
export function createNotificationClient<M extends object = NotificationMap>(
  options: ClientOptions,
): NotificationClient<M> {
  return new NotificationClient<M>(options);
}
