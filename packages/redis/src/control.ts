import type { BrokerControl, ControlHandler, ControlMessage, Logger } from '@wardcast/server';
import { type ControlEnvelope, ControlRouter, PresencePairs } from '@wardcast/server/backplane';
import type { Connections } from './connections.js';
import type { Keys } from './keys.js';
import { HEARTBEAT_LUA } from './lua/slots.js';
import { Script } from './script.js';
import type { ConnectionSlots } from './slots.js';

const HEARTBEAT = new Script(HEARTBEAT_LUA);

/**
 * Control messages between instances over one pub/sub channel, plus the presence state behind
 * them: each instance keeps its own `(topic, user)` pairs in a hash that expires unless its
 * heartbeat refreshes it. On every (re)connect an instance rewrites its hash, announces its full
 * membership, and loads the others' (messages arriving meanwhile wait, then apply in order);
 * an instance whose heartbeat stopped is announced as an empty membership.
 */
export class ControlChannel implements BrokerControl {
  /** Checks, holds and delivers what other instances send (held until the first `sync`). */
  readonly #router: ControlRouter;
  /** This instance's presence pairs. */
  readonly #own = new PresencePairs();
  readonly #conns: Connections;
  readonly #keys: Keys;
  readonly #self: string;
  readonly #ttlMs: number;
  readonly #slots: ConnectionSlots;

  constructor(conns: Connections, keys: Keys, self: string, ttlMs: number, slots: ConnectionSlots, logger: Logger) {
    this.#conns = conns;
    this.#keys = keys;
    this.#self = self;
    this.#ttlMs = ttlMs;
    this.#slots = slots;
    this.#router = new ControlRouter({ self, source: 'wardcast/redis', logger });
  }

  subscribe(handler: ControlHandler): void {
    this.#router.subscribe(handler);
  }

  async publish(message: ControlMessage): Promise<void> {
    const envelope = JSON.stringify({ o: this.#self, m: message } satisfies ControlEnvelope);
    const channel = this.#keys.control;
    if (message.type !== 'presence') {
      await this.#conns.call('control publish', (r) => r.publish(channel, envelope));
      return;
    }
    const field = this.#own.apply(message);
    const hash = this.#keys.presence(this.#self);
    await this.#conns.call('presence publish', (r) => {
      const multi = r.multi();
      if (message.present) multi.hset(hash, field, '1');
      else multi.hdel(hash, field);
      return multi.pexpire(hash, this.#ttlMs).publish(channel, envelope).exec();
    });
  }

  /** A message on the control channel. */
  message(raw: string): void {
    this.#router.message(raw);
  }

  /**
   * After a (re)connect: heartbeat, rewrite and announce our presence, load everyone else's.
   * @throws {WardcastError} `store_unavailable` (the caller retries with the next heartbeat)
   */
  async sync(): Promise<void> {
    this.#router.hold();
    try {
      const live = await this.heartbeat(false);
      const hash = this.#keys.presence(this.#self);
      const own = this.#own.fields();
      const snapshot = JSON.stringify({
        o: this.#self,
        m: { type: 'presence_snapshot', members: PresencePairs.members(own) },
      } satisfies ControlEnvelope);
      await this.#conns.call('presence sync', (r) => {
        const multi = r.multi().del(hash);
        if (own.length > 0) multi.hset(hash, Object.fromEntries(own.map((f) => [f, '1'])));
        return multi.pexpire(hash, this.#ttlMs).publish(this.#keys.control, snapshot).exec();
      });
      const others = live.filter((id) => id !== this.#self);
      const fields = await this.#conns.call('presence load', (r) => {
        const multi = r.multi();
        for (const id of others) multi.hkeys(this.#keys.presence(id));
        return multi.exec();
      });
      others.forEach((id, i) => {
        const [error, keys] = fields?.[i] ?? [null, []];
        if (!error)
          this.#router.deliver(id, { type: 'presence_snapshot', members: PresencePairs.members(keys as string[]) });
      });
      this.#router.forgetGone(live);
    } finally {
      this.#router.flush();
    }
  }

  /**
   * Refreshes this instance's liveness, presence hash and connection slots; returns the live
   * instances and, unless `reap` is false, tells the hub about instances that stopped.
   */
  async heartbeat(reap = true): Promise<string[]> {
    const { keys, members } = this.#slots.heartbeatArgs();
    const live = (await this.#conns.call('heartbeat', (r) =>
      HEARTBEAT.run(
        r,
        [this.#keys.instances, this.#keys.presence(this.#self), ...keys],
        [this.#self, this.#ttlMs, ...members],
      ),
    )) as string[];
    if (reap) this.#router.forgetGone(live);
    return live;
  }

  /** Leaves: our presence hash and liveness entry go, and the others drop our members. */
  async leave(): Promise<void> {
    this.#own.clear();
    const snapshot = JSON.stringify({
      o: this.#self,
      m: { type: 'presence_snapshot', members: [] },
    } satisfies ControlEnvelope);
    await this.#conns.call('leave', (r) =>
      r
        .multi()
        .del(this.#keys.presence(this.#self))
        .zrem(this.#keys.instances, this.#self)
        .publish(this.#keys.control, snapshot)
        .exec(),
    );
  }

  close(): void {
    this.#router.close();
  }
}
