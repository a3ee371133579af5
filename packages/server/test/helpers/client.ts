import { parseServerFrame, type ServerFrame, type ServerFrameType } from '@wardcast/protocol';
import WebSocket from 'ws';

/** A server frame of one `type`. */
export type FrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;

/** How a socket closed, as the client saw it. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

interface Waiter {
  readonly match: (frame: ServerFrame) => boolean;
  readonly resolve: (frame: ServerFrame) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** Default time a helper waits for a frame or a close before failing the test. */
export const WAIT_MS = 10_000;

let refCounter = 0;
/** A fresh `ref` for a client frame. */
export function nextRef(): string {
  refCounter += 1;
  return `r${refCounter}`;
}

/**
 * A real `ws` client that records every frame from the moment it is created (so the `welcome`
 * is never missed), validates each one against the protocol's server-frame schema, and lets a
 * test wait for a specific frame or for the close.
 */
export class TestClient {
  readonly ws: WebSocket;
  /** Every frame received that parsed as a server frame, in order. */
  readonly frames: ServerFrame[] = [];
  /** The raw text of every text frame received, in order (for leak checks). */
  readonly raw: string[] = [];
  /** Text frames that did not parse as a server frame: a protocol violation by the hub. */
  readonly invalid: string[] = [];
  /** Resolves when the handshake completed. */
  readonly opened: Promise<void>;
  /** Resolves when the socket closed (never rejects). */
  readonly closed: Promise<CloseInfo>;
  /** Resolves with the HTTP status when the server refused the upgrade (never rejects). */
  readonly rejected: Promise<number>;
  #closeInfo: CloseInfo | undefined;
  readonly #taken = new Set<number>();
  readonly #waiters = new Set<Waiter>();
  readonly #label: string;

  constructor(url: string, options: WebSocket.ClientOptions = {}, label = 'client') {
    this.#label = label;
    this.ws = new WebSocket(url, options);
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('close', (code) => reject(new Error(`${label}: closed with ${code} before opening`)));
      this.ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`${label}: upgrade refused with HTTP ${res.statusCode}`)),
      );
    });
    this.opened.catch(() => {});
    this.rejected = new Promise((resolve) => {
      this.ws.once('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        req.destroy();
      });
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        const info = { code, reason: reason.toString('utf8') };
        this.#closeInfo = info;
        for (const w of this.#waiters) {
          clearTimeout(w.timer);
          w.reject(new Error(`${label}: socket closed with ${code} while waiting for a frame; got ${this.#summary()}`));
        }
        this.#waiters.clear();
        resolve(info);
      });
    });
    this.ws.on('message', (data, binary) => {
      if (binary) {
        this.invalid.push('<binary>');
        return;
      }
      const text = (data as Buffer).toString('utf8');
      this.raw.push(text);
      const parsed = parseServerFrame(text);
      if (!parsed.ok) {
        this.invalid.push(text);
        return;
      }
      const index = this.frames.length;
      this.frames.push(parsed.frame);
      for (const w of this.#waiters) {
        if (w.match(parsed.frame)) {
          this.#taken.add(index);
          this.#waiters.delete(w);
          clearTimeout(w.timer);
          w.resolve(parsed.frame);
          return;
        }
      }
    });
  }

  /** The close code and reason, once closed. */
  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }

  /** Frames of one type received so far (taken or not). */
  framesOf<T extends ServerFrameType>(type: T): FrameOf<T>[] {
    return this.frames.filter((f): f is FrameOf<T> => f.type === type);
  }

  /** Seqs of the notifications received so far on `topic`, in arrival order. */
  seqs(topic: string): number[] {
    return this.framesOf('notification')
      .filter((n) => n.topic === topic)
      .map((n) => n.seq);
  }

  /**
   * Resolves with the earliest frame of `type` (matching `predicate`) that no earlier call
   * returned, waiting for it if needed. Rejects after `timeoutMs`, or as soon as the socket
   * closes, with a message listing what did arrive.
   */
  nextFrame<T extends ServerFrameType>(
    type: T,
    predicate: (frame: FrameOf<T>) => boolean = () => true,
    timeoutMs = WAIT_MS,
  ): Promise<FrameOf<T>> {
    const match = (f: ServerFrame): boolean => f.type === type && predicate(f as FrameOf<T>);
    for (let i = 0; i < this.frames.length; i++) {
      const f = this.frames[i] as ServerFrame;
      if (!this.#taken.has(i) && match(f)) {
        this.#taken.add(i);
        return Promise.resolve(f as FrameOf<T>);
      }
    }
    if (this.#closeInfo) {
      return Promise.reject(
        new Error(
          `${this.#label}: socket already closed with ${this.#closeInfo.code}; no "${type}" frame; got ${this.#summary()}`,
        ),
      );
    }
    return new Promise<FrameOf<T>>((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (f) => resolve(f as FrameOf<T>),
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`${this.#label}: no "${type}" frame within ${timeoutMs} ms; got ${this.#summary()}`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Waits for the notification with this `id`. */
  notification(id: string, timeoutMs = WAIT_MS): Promise<FrameOf<'notification'>> {
    return this.nextFrame('notification', (n) => n.id === id, timeoutMs);
  }

  /** Resolves with the close code and reason; rejects if the socket is still open after `timeoutMs`. */
  waitClose(timeoutMs = WAIT_MS): Promise<CloseInfo> {
    if (this.#closeInfo) return Promise.resolve(this.#closeInfo);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.#label}: still open after ${timeoutMs} ms; got ${this.#summary()}`)),
        timeoutMs,
      );
      void this.closed.then((info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  }

  /** Sends a JSON frame. */
  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends a text frame as is. */
  sendText(text: string): void {
    this.ws.send(text);
  }

  /** Sends a subscribe frame and resolves with the per-topic results of its `subscribed` reply. */
  async subscribe(
    topics: readonly (string | { topic: string; since?: { epoch: string; seq: number } })[],
  ): Promise<FrameOf<'subscribed'>['topics']> {
    const ref = nextRef();
    this.send({
      type: 'subscribe',
      ref,
      topics: topics.map((t) => (typeof t === 'string' ? { topic: t } : t)),
    });
    const reply = await this.nextFrame('subscribed', (f) => f.ref === ref);
    return reply.topics;
  }

  /** Sends an app-level ping and waits for its pong: proves the connection is open and served. */
  async roundTrip(): Promise<void> {
    const ref = nextRef();
    this.send({ type: 'ping', ref, ts: Date.now() });
    await this.nextFrame('pong', (f) => f.ref === ref);
  }

  /** Stops reading from the TCP socket, so the server's writes back up. */
  pauseReading(): void {
    const socket = (this.ws as unknown as { _socket?: { pause(): void } })._socket;
    if (!socket) throw new Error(`${this.#label}: no underlying socket to pause`);
    socket.pause();
  }

  /** Destroys the socket at once. */
  terminate(): void {
    this.ws.terminate();
  }

  #summary(): string {
    const types = this.frames.map((f) => f.type);
    const close = this.#closeInfo ? ` closed=${this.#closeInfo.code}` : '';
    const bad = this.invalid.length > 0 ? ` invalid=${this.invalid.length}` : '';
    return `[${types.join(', ')}]${close}${bad}`;
  }
}
