import type { Connections } from './connections.js';
import type { Keys } from './keys.js';
import { RESERVE_LUA } from './lua/slots.js';
import { Script } from './script.js';

const RESERVE = new Script(RESERVE_LUA);

/**
 * Per-user connection slots shared by all instances: a sorted set per user of
 * `instance\nsession` -> deadline. This instance refreshes its slots with every heartbeat, so the
 * slots of a crashed instance expire after `instanceTtlMs` and stop counting.
 */
export class ConnectionSlots {
  /** userId -> session ids holding a slot here. */
  readonly #held = new Map<string, Set<string>>();
  readonly #conns: Connections;
  readonly #keys: Keys;
  readonly #instanceId: string;
  readonly #ttlMs: number;

  constructor(conns: Connections, keys: Keys, instanceId: string, ttlMs: number) {
    this.#conns = conns;
    this.#keys = keys;
    this.#instanceId = instanceId;
    this.#ttlMs = ttlMs;
  }

  #member(sessionId: string): string {
    return `${this.#instanceId}\n${sessionId}`;
  }

  /** Takes a slot; `false` when the user already holds `max`. @throws {WardcastError} `store_unavailable` */
  async reserve(userId: string, sessionId: string, max: number): Promise<boolean> {
    const ok = await this.#conns.call('reserveConnection', (r) =>
      RESERVE.run(r, [this.#keys.connections(userId)], [this.#member(sessionId), max, this.#ttlMs]),
    );
    if (Number(ok) !== 1) return false;
    const sessions = this.#held.get(userId) ?? new Set<string>();
    sessions.add(sessionId);
    this.#held.set(userId, sessions);
    return true;
  }

  /** Gives a slot back. While Redis is down the slot simply expires (no heartbeat refreshes it). */
  async release(userId: string, sessionId: string): Promise<void> {
    const sessions = this.#held.get(userId);
    if (!sessions?.delete(sessionId)) return;
    if (sessions.size === 0) this.#held.delete(userId);
    await this.#conns.call('releaseConnection', (r) => r.zrem(this.#keys.connections(userId), this.#member(sessionId)));
  }

  /** Keys and members for the heartbeat script, which re-adds them (also after a Redis restart). */
  heartbeatArgs(): { keys: string[]; members: string[] } {
    const keys: string[] = [];
    const members: string[] = [];
    for (const [userId, sessions] of this.#held) {
      for (const sessionId of sessions) {
        keys.push(this.#keys.connections(userId));
        members.push(this.#member(sessionId));
      }
    }
    return { keys, members };
  }

  /** Gives every slot back (at close). */
  async releaseAll(): Promise<void> {
    const { keys, members } = this.heartbeatArgs();
    this.#held.clear();
    if (keys.length === 0) return;
    await this.#conns.call('releaseConnection', (r) => {
      const multi = r.multi();
      for (const [i, key] of keys.entries()) multi.zrem(key, members[i] as string);
      return multi.exec();
    });
  }
}
