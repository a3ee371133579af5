import type { BrokerControl, ControlHandler, ControlMessage, Logger, PresenceMember } from '@wardcast/server';
import { type ControlEnvelope, ControlRouter, PresencePairs } from '@wardcast/server/backplane';
import { type Db, unavailable } from './db.js';
import type { ResolvedBackplaneOptions } from './options.js';
import { MAX_INLINE_BYTES } from './store.js';

/**
 * A control NOTIFY: `o` the sending instance, `m` the message. `l: 1` marks a presence snapshot too
 * large for a payload: receivers load the sender's rows from `backplane_presence` instead.
 */
interface Envelope extends ControlEnvelope {
  readonly l?: 1;
}

/**
 * Per-user connection slots shared by all instances (`backplane_connections`): a row per
 * connection with a deadline this instance pushes forward with every heartbeat, so the slots of a
 * crashed instance stop counting after `instanceTtlMs`.
 */
export class ConnectionSlots {
  /** userId -> session ids holding a slot here. */
  readonly #held = new Map<string, Set<string>>();
  readonly #db: Db;
  readonly #o: ResolvedBackplaneOptions;

  constructor(db: Db, options: ResolvedBackplaneOptions) {
    this.#db = db;
    this.#o = options;
  }

  /** Takes a slot; `false` when the user already holds `max`. @throws {WardcastError} `store_unavailable` */
  async reserve(userId: string, sessionId: string, max: number): Promise<boolean> {
    const o = this.#o;
    const ok = await this.#db.transaction('reserveConnection', async (q) => {
      // One user's reservations go one at a time (a transaction-level lock: released at COMMIT).
      await q('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [`wardcast.connections:${o.schema}`, userId]);
      await q(`DELETE FROM ${o.s}.backplane_connections WHERE user_id = $1 AND deadline <= now()`, [userId]);
      const r = await q(
        `INSERT INTO ${o.s}.backplane_connections (user_id, instance_id, session_id, deadline)
         SELECT $1, $2, $3, now() + $4::bigint * interval '1 millisecond'
         WHERE (SELECT count(*) FROM ${o.s}.backplane_connections WHERE user_id = $1) < $5
         ON CONFLICT (user_id, instance_id, session_id) DO UPDATE SET deadline = EXCLUDED.deadline
         RETURNING 1`,
        [userId, o.instanceId, sessionId, o.instanceTtlMs, max],
      );
      return r.rows.length > 0;
    });
    if (!ok) return false;
    const sessions = this.#held.get(userId) ?? new Set<string>();
    sessions.add(sessionId);
    this.#held.set(userId, sessions);
    return true;
  }

  /** Gives a slot back. While the database is down the slot simply expires. */
  async release(userId: string, sessionId: string): Promise<void> {
    const sessions = this.#held.get(userId);
    if (!sessions?.delete(sessionId)) return;
    if (sessions.size === 0) this.#held.delete(userId);
    await this.#db.query(
      'releaseConnection',
      `DELETE FROM ${this.#o.s}.backplane_connections WHERE user_id = $1 AND instance_id = $2 AND session_id = $3`,
      [userId, this.#o.instanceId, sessionId],
    );
  }

  /** The held slots, for the heartbeat (which writes them again, also if they lapsed). */
  held(): { users: string[]; sessions: string[] } {
    const users: string[] = [];
    const sessions: string[] = [];
    for (const [userId, set] of this.#held) {
      for (const sessionId of set) {
        users.push(userId);
        sessions.push(sessionId);
      }
    }
    return { users, sessions };
  }

  /** Gives every slot back (at close). */
  async releaseAll(): Promise<void> {
    this.#held.clear();
    await this.#db.query('releaseConnection', `DELETE FROM ${this.#o.s}.backplane_connections WHERE instance_id = $1`, [
      this.#o.instanceId,
    ]);
  }
}

/**
 * Control messages between instances over one NOTIFY channel, plus the presence state behind
 * them: each instance keeps its own `(topic, user)` pairs as rows of `backplane_presence` and its
 * liveness in `backplane_instances` (a deadline its heartbeat pushes forward). On every
 * (re)connect of the listener an instance rewrites its rows, announces its full membership and
 * loads the others' (messages arriving meanwhile wait, then apply in order); an instance whose
 * heartbeat stopped is announced to the hub as an empty membership, and its rows are deleted.
 */
export class ControlChannel implements BrokerControl {
  /** Checks, holds and hands over what other instances send (held until the first `sync`). */
  readonly #router: ControlRouter;
  /** Deliveries in order (a snapshot too large for a payload is loaded before the next message). */
  #chain: Promise<void> = Promise.resolve();
  /** This instance's presence pairs. */
  readonly #own = new PresencePairs();
  readonly #db: Db;
  readonly #o: ResolvedBackplaneOptions;
  readonly #slots: ConnectionSlots;
  readonly #logger: Logger;
  /** Set when a heartbeat found this instance had been taken for dead: presence must be announced again. */
  needsSync = false;

  constructor(db: Db, options: ResolvedBackplaneOptions, slots: ConnectionSlots, logger: Logger) {
    this.#db = db;
    this.#o = options;
    this.#slots = slots;
    this.#logger = logger;
    this.#router = new ControlRouter({
      self: options.instanceId,
      source: 'wardcast/postgres',
      logger,
      dispatch: (e) => this.#enqueue(e),
    });
  }

  subscribe(handler: ControlHandler): void {
    this.#router.subscribe(handler);
  }

  /** Sends `message` to every other instance. @throws {WardcastError} `store_unavailable` */
  async publish(message: ControlMessage): Promise<void> {
    const o = this.#o;
    const envelope = JSON.stringify({ o: o.instanceId, m: message } satisfies Envelope);
    if (Buffer.byteLength(envelope, 'utf8') > MAX_INLINE_BYTES) {
      throw unavailable(`control message ${message.type} too large for a NOTIFY payload`);
    }
    if (message.type !== 'presence') {
      await this.#db.query('control publish', 'SELECT pg_notify($1, $2)', [o.controlChannel, envelope]);
      return;
    }
    this.#own.apply(message);
    const write = message.present
      ? `INSERT INTO ${o.s}.backplane_presence (instance_id, topic, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
      : `DELETE FROM ${o.s}.backplane_presence WHERE instance_id = $1 AND topic = $2 AND user_id = $3`;
    await this.#db.query('presence publish', `WITH w AS (${write}) SELECT pg_notify($4, $5)`, [
      o.instanceId,
      message.topic,
      message.userId,
      o.controlChannel,
      envelope,
    ]);
  }

  /** A NOTIFY on the control channel. */
  message(raw: string): void {
    this.#router.message(raw);
  }

  /**
   * After a (re)connect: heartbeat, rewrite and announce our presence, load everyone else's.
   * @throws {WardcastError} `store_unavailable` (the caller retries with the next heartbeat)
   */
  async sync(): Promise<void> {
    this.#router.hold();
    const o = this.#o;
    try {
      const live = await this.heartbeat(false);
      const members = this.#own.members();
      let envelope = JSON.stringify({
        o: o.instanceId,
        m: { type: 'presence_snapshot', members },
      } satisfies Envelope);
      if (Buffer.byteLength(envelope, 'utf8') > MAX_INLINE_BYTES) {
        envelope = JSON.stringify({ o: o.instanceId, m: { type: 'presence_snapshot', members: [] }, l: 1 });
      }
      await this.#db.transaction('presence sync', async (q) => {
        await q(`DELETE FROM ${o.s}.backplane_presence WHERE instance_id = $1`, [o.instanceId]);
        if (members.length > 0) {
          await q(
            `INSERT INTO ${o.s}.backplane_presence (instance_id, topic, user_id)
             SELECT $1, t, u FROM unnest($2::text[], $3::text[]) AS x(t, u) ON CONFLICT DO NOTHING`,
            [o.instanceId, members.map((m) => m.topic), members.map((m) => m.userId)],
          );
        }
        await q('SELECT pg_notify($1, $2)', [o.controlChannel, envelope]);
      });
      const others = live.filter((id) => id !== o.instanceId);
      const snapshots = await this.#load(others);
      for (const id of others) {
        this.#router.deliver(id, { type: 'presence_snapshot', members: snapshots.get(id) ?? [] });
      }
      this.#router.forgetGone(live);
      this.needsSync = false;
    } finally {
      this.#router.flush();
    }
  }

  /**
   * Refreshes this instance's liveness and connection slots, deletes the presence rows of instances
   * that stopped; returns the live instances and, unless `reap` is false, tells the hub about
   * instances that stopped. @throws {WardcastError} `store_unavailable`
   */
  async heartbeat(reap = true): Promise<string[]> {
    const o = this.#o;
    const { users, sessions } = this.#slots.held();
    const result = await this.#db.query<{ instance_id: string; was_alive: boolean | null }>(
      'heartbeat',
      `WITH prev AS (
         SELECT deadline > now() AS alive FROM ${o.s}.backplane_instances WHERE instance_id = $1
       ), me AS (
         INSERT INTO ${o.s}.backplane_instances (instance_id, deadline)
         VALUES ($1, now() + $2::bigint * interval '1 millisecond')
         ON CONFLICT (instance_id) DO UPDATE SET deadline = EXCLUDED.deadline
         RETURNING instance_id
       ), slots AS (
         INSERT INTO ${o.s}.backplane_connections (user_id, instance_id, session_id, deadline)
         SELECT u, $1, s, now() + $2::bigint * interval '1 millisecond' FROM unnest($3::text[], $4::text[]) AS x(u, s)
         ON CONFLICT (user_id, instance_id, session_id) DO UPDATE SET deadline = EXCLUDED.deadline
       ), gone AS (
         DELETE FROM ${o.s}.backplane_instances
         WHERE instance_id <> $1 AND deadline < now() - $2::bigint * 10 * interval '1 millisecond'
       ), stale AS (
         DELETE FROM ${o.s}.backplane_presence p WHERE p.instance_id <> $1 AND NOT EXISTS (
           SELECT 1 FROM ${o.s}.backplane_instances i WHERE i.instance_id = p.instance_id AND i.deadline > now())
       )
       SELECT instance_id, NULL::boolean AS was_alive FROM ${o.s}.backplane_instances
         WHERE deadline > now() AND instance_id <> $1
       UNION ALL SELECT me.instance_id, (SELECT alive FROM prev) FROM me`,
      [o.instanceId, o.instanceTtlMs, users, sessions],
    );
    const live = result.rows.map((r) => r.instance_id);
    const mine = result.rows.find((r) => r.instance_id === o.instanceId);
    // Taken for dead meanwhile (a stall): the others dropped our presence; announce it again.
    if (mine && mine.was_alive === false) this.needsSync = true;
    if (reap) this.#router.forgetGone(live);
    return live;
  }

  /** Leaves: our presence and liveness rows go, and the others drop our members. */
  async leave(): Promise<void> {
    const o = this.#o;
    this.#own.clear();
    const snapshot = JSON.stringify({
      o: o.instanceId,
      m: { type: 'presence_snapshot', members: [] },
    } satisfies Envelope);
    await this.#db.query(
      'leave',
      `WITH p AS (DELETE FROM ${o.s}.backplane_presence WHERE instance_id = $1),
       i AS (DELETE FROM ${o.s}.backplane_instances WHERE instance_id = $1)
       SELECT pg_notify($2, $3)`,
      [o.instanceId, o.controlChannel, snapshot],
    );
  }

  close(): void {
    this.#router.close();
  }

  async #load(instances: readonly string[]): Promise<Map<string, PresenceMember[]>> {
    const out = new Map<string, PresenceMember[]>();
    if (instances.length === 0) return out;
    const rows = await this.#db.query<{ instance_id: string; topic: string; user_id: string }>(
      'presence load',
      `SELECT instance_id, topic, user_id FROM ${this.#o.s}.backplane_presence WHERE instance_id = ANY($1::text[])`,
      [instances],
    );
    for (const r of rows.rows) {
      const list = out.get(r.instance_id) ?? [];
      list.push({ topic: r.topic, userId: r.user_id });
      out.set(r.instance_id, list);
    }
    return out;
  }

  #enqueue(e: Envelope): void {
    if (e.l === 1 && e.m.type === 'presence_snapshot') {
      this.#chain = this.#chain.then(async () => {
        try {
          const loaded = await this.#load([e.o]);
          this.#router.deliver(e.o, { type: 'presence_snapshot', members: loaded.get(e.o) ?? [] });
        } catch (cause) {
          this.#logger.warn({ err: cause }, 'wardcast/postgres: presence snapshot load failed');
        }
      });
      return;
    }
    this.#chain = this.#chain.then(() => this.#router.deliver(e.o, e.m));
  }
}
