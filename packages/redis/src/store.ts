import { randomBytes } from 'node:crypto';
import type { StreamPosition } from '@wardcast/protocol';
import type { AppendResult, NotificationDraft, StoredNotification } from '@wardcast/server';
import { decodeEntries, encodeDraft } from './codec.js';
import type { Connections } from './connections.js';
import { type Keys, topicKeys } from './keys.js';
import { APPEND_LUA } from './lua/append.js';
import { READ_LUA } from './lua/read.js';
import type { ResolvedOptions } from './options.js';
import { Script } from './script.js';

const APPEND = new Script(APPEND_LUA);
const READ = new Script(READ_LUA);

/** A fresh epoch: time plus randomness, so a lost stream never gets an epoch it had before. */
export function newEpoch(): string {
  return `${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}

/** A topic's end and the entries after a position, read atomically. */
export interface StreamRead {
  readonly position: StreamPosition;
  /** Oldest first. */
  readonly entries: readonly StoredNotification[];
}

/** The topic streams on Redis: append (with publish) and reads. */
export class StreamStore {
  readonly #conns: Connections;
  readonly #keys: Keys;
  readonly #options: ResolvedOptions;

  constructor(conns: Connections, keys: Keys, options: ResolvedOptions) {
    this.#conns = conns;
    this.#keys = keys;
    this.#options = options;
  }

  /** Stores and publishes `draft` in one script. @throws {WardcastError} `store_unavailable` */
  async append(draft: NotificationDraft): Promise<AppendResult> {
    const { topic } = draft;
    const o = this.#options;
    const args = [
      newEpoch(),
      o.topicTtlMs,
      draft.id,
      encodeDraft(draft),
      o.maxLen,
      o.maxAgeMs,
      this.#keys.channel(topic),
    ];
    const reply = (await this.#conns.call('append', (r) => APPEND.run(r, topicKeys(this.#keys, topic), args))) as [
      string,
      number,
      number,
    ];
    return { notification: { ...draft, epoch: reply[0], seq: Number(reply[1]) }, duplicate: Number(reply[2]) === 1 };
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
