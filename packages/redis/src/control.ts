import type { BrokerControl, ControlHandler, ControlMessage, Logger, PresenceMember } from '@wardcast/server';
import type { Connections } from './connections.js';
import type { Keys } from './keys.js';
import { HEARTBEAT_LUA } from './lua/slots.js';
import { Script } from './script.js';
import type { ConnectionSlots } from './slots.js';

const HEARTBEAT = new Script(HEARTBEAT_LUA);
const pairKey = (topic: string, userId: string): string => `${topic}\n${userId}`;

interface Envelope {
  readonly o: string;
  readonly m: ControlMessage;
}

const str = (v: unknown): v is string => typeof v === 'string';

function isMember(v: unknown): v is PresenceMember {
  const m = v as PresenceMember;
  return typeof m === 'object' && m !== null && str(m.topic) && str(m.userId);
}

/** Checks a message from the wire; anything unexpected is dropped. */
function parseEnvelope(raw: string): Envelope | undefined {
  let e: { o?: unknown; m?: Record<string, unknown> };
  try {
    e = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const m = e?.m;
  if (!str(e?.o) || typeof m !== 'object' || m === null) return undefined;
  switch (m.type) {
    case 'disconnect':
      return str(m.userId) && str(m.reason) ? (e as Envelope) : undefined;
    case 'receipt':
      return str(m.userId) && str(m.id) && (m.action === 'read' || m.action === 'ack') ? (e as Envelope) : undefined;
    case 'escalation_ack':
      return str(m.userId) && str(m.id) ? (e as Envelope) : undefined;
    case 'presence':
      return str(m.topic) && str(m.userId) && typeof m.present === 'boolean' ? (e as Envelope) : undefined;
    case 'presence_snapshot':
      return Array.isArray(m.members) && m.members.every(isMember) ? (e as Envelope) : undefined;
    default:
      return undefined;
  }
}

function membersOf(fields: readonly string[]): PresenceMember[] {
  const out: PresenceMember[] = [];
  for (const f of fields) {
    const i = f.indexOf('\n');
    if (i > 0) out.push({ topic: f.slice(0, i), userId: f.slice(i + 1) });
  }
  return out;
}

/**
 * Control messages between instances over one pub/sub channel, plus the presence state behind
 * them: each instance keeps its own `(topic, user)` pairs in a hash that expires unless its
 * heartbeat refreshes it. On every (re)connect an instance rewrites its hash, announces its full
 * membership, and loads the others' (messages arriving meanwhile wait, then apply in order);
 * an instance whose heartbeat stopped is announced as an empty membership.
 */
export class ControlChannel implements BrokerControl {
  #handler: ControlHandler | undefined;
  /** Messages waiting for a handler or for a snapshot load to finish. */
  #held: Envelope[] | undefined = [];
  /** This instance's presence pairs. */
  readonly #own = new Set<string>();
  /** Instances we told the hub about. */
  readonly #known = new Set<string>();
  readonly #conns: Connections;
  readonly #keys: Keys;
  readonly #self: string;
  readonly #ttlMs: number;
  readonly #slots: ConnectionSlots;
  readonly #logger: Logger;

  constructor(conns: Connections, keys: Keys, self: string, ttlMs: number, slots: ConnectionSlots, logger: Logger) {
    this.#conns = conns;
    this.#keys = keys;
    this.#self = self;
    this.#ttlMs = ttlMs;
    this.#slots = slots;
    this.#logger = logger;
  }

  subscribe(handler: ControlHandler): void {
    this.#handler = handler;
  }

  async publish(message: ControlMessage): Promise<void> {
    const envelope = JSON.stringify({ o: this.#self, m: message } satisfies Envelope);
    const channel = this.#keys.control;
    if (message.type !== 'presence') {
      await this.#conns.call('control publish', (r) => r.publish(channel, envelope));
      return;
    }
    const field = pairKey(message.topic, message.userId);
    if (message.present) this.#own.add(field);
    else this.#own.delete(field);
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
    const envelope = parseEnvelope(raw);
    if (!envelope) {
      this.#logger.warn({}, 'wardcast/redis: malformed control message ignored');
      return;
    }
    if (envelope.o === this.#self) return;
    if (this.#held) this.#held.push(envelope);
    else this.#deliver(envelope.o, envelope.m);
  }

  /**
   * After a (re)connect: heartbeat, rewrite and announce our presence, load everyone else's.
   * @throws {WardcastError} `store_unavailable` (the caller retries with the next heartbeat)
   */
  async sync(): Promise<void> {
    this.#held ??= [];
    try {
      const live = await this.heartbeat(false);
      const hash = this.#keys.presence(this.#self);
      const own = [...this.#own];
      const snapshot = JSON.stringify({
        o: this.#self,
        m: { type: 'presence_snapshot', members: membersOf(own) },
      } satisfies Envelope);
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
        if (!error) this.#deliver(id, { type: 'presence_snapshot', members: membersOf(keys as string[]) });
      });
      this.#forgetGone(live);
    } finally {
      this.#flush();
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
    if (reap) this.#forgetGone(live);
    return live;
  }

  /** Leaves: our presence hash and liveness entry go, and the others drop our members. */
  async leave(): Promise<void> {
    this.#own.clear();
    const snapshot = JSON.stringify({
      o: this.#self,
      m: { type: 'presence_snapshot', members: [] },
    } satisfies Envelope);
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
    this.#handler = undefined;
    this.#held = undefined;
  }

  #forgetGone(live: readonly string[]): void {
    const alive = new Set(live);
    for (const id of [...this.#known]) {
      if (!alive.has(id)) this.#deliver(id, { type: 'presence_snapshot', members: [] });
    }
  }

  #flush(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const e of held) this.#deliver(e.o, e.m);
  }

  #deliver(origin: string, message: ControlMessage): void {
    if (message.type === 'presence_snapshot' && message.members.length === 0) this.#known.delete(origin);
    else if (message.type === 'presence' || message.type === 'presence_snapshot') this.#known.add(origin);
    try {
      this.#handler?.(message, origin);
    } catch (cause) {
      this.#logger.error({ err: cause }, 'wardcast/redis: control handler threw');
    }
  }
}
