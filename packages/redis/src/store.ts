import { randomBytes, randomUUID } from 'node:crypto';
import type { StreamPosition } from '@wardcast/protocol';
import type { AppendResult, NotificationDraft, StoredNotification } from '@wardcast/server';
import type { StreamRead } from '@wardcast/server/backplane';
import { decodeEntries, encodeDraft } from './codec.js';
import type { Connections } from './connections.js';
import { unavailable } from './errors.js';
import { type Keys, topicKeys } from './keys.js';
import { APPEND_LUA } from './lua/append.js';
import { ABORT_LUA, COMMIT_LUA, SETTLE_LUA } from './lua/commit.js';
import { PUBLISH_LUA } from './lua/publish.js';
import { READ_LUA } from './lua/read.js';
import type { ResolvedOptions } from './options.js';
import { Script } from './script.js';

const APPEND = new Script(APPEND_LUA);
const COMMIT = new Script(COMMIT_LUA);
const SETTLE = new Script(SETTLE_LUA);
const ABORT = new Script(ABORT_LUA);
const PUBLISH = new Script(PUBLISH_LUA);
const READ = new Script(READ_LUA);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** 48 random bits drawn once per process (drawing them per script call cost more than the call). */
const PROCESS_BITS = randomBytes(6).toString('hex');
let candidates = 0;

/**
 * A fresh candidate epoch: the time, this process's random bits and a counter, so a lost stream
 * never gets an epoch it had before (no two candidates of one process are alike, and processes
 * differ in their random bits).
 */
export function newEpoch(): string {
  candidates = (candidates + 1) % Number.MAX_SAFE_INTEGER;
  return `${Date.now().toString(36)}${PROCESS_BITS}${candidates.toString(36)}`;
}

/**
 * The error of a one-script publish: as it is when nothing can have been stored (Redis answered an
 * error, which the script raises before its first write, or the command was never sent), otherwise
 * "delivery unknown" (the answer was lost: it may have been stored and delivered).
 */
function refusedOrUnknown(error: unknown): unknown {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error && cause.name === 'ReplyError') return error;
  if (error instanceof Error && /not connected/.test(error.message)) return error;
  return unknown(error);
}

const unknown = (cause: unknown) =>
  unavailable('publish: no answer from redis, delivery unknown (retry with the same id: dedupe makes it safe)', cause);

/** The topic streams on Redis: the two-phase publish (append, commit, abort) and reads. */
export class StreamStore {
  readonly #conns: Connections;
  readonly #keys: Keys;
  readonly #options: ResolvedOptions;
  /** The token of each reservation this store made (commit and abort prove ownership with it). */
  readonly #tokens = new WeakMap<StoredNotification, string>();

  constructor(conns: Connections, keys: Keys, options: ResolvedOptions) {
    this.#conns = conns;
    this.#keys = keys;
    this.#options = options;
  }

  /** The arguments every write script of `topic` starts with (see lua/pending.ts). */
  #head(topic: string): (string | number)[] {
    const o = this.#options;
    return [newEpoch(), o.topicTtlMs, o.maxLen, o.maxAgeMs, this.#keys.channel(topic), o.reservationTtlMs];
  }

  /**
   * Reserves the next seq of the draft's topic (nothing is visible yet). An id reserved by a publish
   * still in flight is asked for again until that publish settles.
   * @throws {WardcastError} `store_unavailable`
   */
  async append(draft: NotificationDraft): Promise<AppendResult> {
    const { topic } = draft;
    const deadline = Date.now() + this.#options.reservationTtlMs + this.#options.commandTimeoutMs;
    const token = randomUUID();
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      const args = [...this.#head(topic), draft.id, encodeDraft(draft), token];
      const reply = (await this.#conns.call('append', (r) => APPEND.run(r, topicKeys(this.#keys, topic), args))) as [
        string,
        number,
        number,
      ];
      const status = Number(reply[2]);
      if (status !== 2) {
        const notification = { ...draft, epoch: reply[0], seq: Number(reply[1]) };
        if (status === 0) this.#tokens.set(notification, token);
        return { notification, duplicate: status === 1 };
      }
      if (Date.now() > deadline) throw unavailable('append: a publish of the same id is still in flight');
      await sleep(wait);
    }
  }

  /**
   * Commits a reserved notification and resolves once it is visible (XADDed and PUBLISHed, after
   * every earlier seq of its topic settled).
   * @throws {WardcastError} `store_unavailable`, with `reservation lost` when it can never be delivered.
   */
  async commit(n: StoredNotification): Promise<void> {
    const keys = topicKeys(this.#keys, n.topic);
    const args = [...this.#head(n.topic), n.epoch, n.seq, n.id, this.#tokens.get(n) ?? ''];
    const reply = (await this.#conns.call('commit', (r) => COMMIT.run(r, keys, args))) as [number, number];
    if (Number(reply[0]) === 1) return;
    if (Number(reply[0]) === -1) throw unavailable('commit: the reservation was lost (expired or new epoch)');
    // Committed, behind an earlier seq whose publisher has not settled yet: wait for it (or its deadline).
    await this.#visible(n, keys);
  }

  /**
   * Appends and commits in one script (one round trip): for a publish with no durable side effect
   * between the two phases. Same dedupe, ordering and takeover as `append` then `commit`; resolves
   * once the notification is visible (or with the stored one for a duplicate).
   * @throws {WardcastError} `store_unavailable`: "not published" when Redis refused it or was not
   * connected (nothing was stored), "delivery unknown" when the answer was lost (retry with the same id).
   */
  async appendCommitted(draft: NotificationDraft): Promise<AppendResult> {
    const { topic } = draft;
    const keys = topicKeys(this.#keys, topic);
    const json = encodeDraft(draft);
    const deadline = Date.now() + this.#options.reservationTtlMs + this.#options.commandTimeoutMs;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      const args = [...this.#head(topic), draft.id, json];
      let reply: [string, number, number];
      try {
        reply = (await this.#conns.call('publish', (r) => PUBLISH.run(r, keys, args))) as [string, number, number];
      } catch (error) {
        throw refusedOrUnknown(error);
      }
      const status = Number(reply[2]);
      if (status !== 2) {
        const notification = { ...draft, epoch: reply[0], seq: Number(reply[1]) };
        if (status === 3) {
          try {
            await this.#visible(notification, keys);
          } catch (error) {
            // Stored and committed: it goes out once the earlier seq settles, unless the stream was lost.
            if (error instanceof Error && /new epoch/.test(error.message)) throw error;
            throw unknown(error);
          }
        }
        return { notification, duplicate: status === 1 };
      }
      if (Date.now() > deadline) throw unavailable('publish: a publish of the same id is still in flight');
      await sleep(wait);
    }
  }

  /** Resolves once committed `n` is visible (polling the settle script). */
  async #visible(n: StoredNotification, keys: string[]): Promise<void> {
    const deadline = Date.now() + this.#options.reservationTtlMs * 1.5 + this.#options.commandTimeoutMs;
    const settleArgs = [...this.#head(n.topic), n.epoch, n.seq];
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      await sleep(wait);
      const state = Number(await this.#conns.call('settle', (r) => SETTLE.run(r, keys, settleArgs)));
      if (state === 1) return;
      if (state === -1) throw unavailable('commit: the stream got a new epoch before this notification was visible');
      if (Date.now() > deadline) throw unavailable('commit: an earlier publish did not settle in time');
    }
  }

  /**
   * Gives a reservation up. `false` when it was committed after all.
   * @throws {WardcastError} `store_unavailable`
   */
  async abort(n: StoredNotification): Promise<boolean> {
    const args = [...this.#head(n.topic), n.epoch, n.seq, n.id, this.#tokens.get(n) ?? ''];
    const reply = await this.#conns.call('abort', (r) => ABORT.run(r, topicKeys(this.#keys, n.topic), args));
    return Number(reply) === 1;
  }

  /**
   * The topic's end and, in mode `read`, its entries after `since` when `since` is in the current
   * epoch; in mode `follow`, the entries after `since`, or all of the current epoch's if it changed.
   * @throws {WardcastError} `store_unavailable`
   */
  async read(topic: string, since: StreamPosition | undefined, mode: 'read' | 'follow'): Promise<StreamRead> {
    const args = [newEpoch(), this.#options.topicTtlMs, since?.epoch ?? '', since?.seq ?? 0, mode];
    const reply = (await this.#conns.call('read', (r) => READ.run(r, topicKeys(this.#keys, topic), args))) as [
      string,
      number,
      unknown,
    ];
    const epoch = reply[0];
    return { position: { epoch, seq: Number(reply[1]) }, entries: decodeEntries(epoch, reply[2]) };
  }
}
