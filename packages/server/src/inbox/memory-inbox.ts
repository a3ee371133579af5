import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { StoredNotification } from '../core/types.js';
import type { InboxEntry, InboxPage, InboxStore } from './types.js';

/**
 * Options of {@link MemoryInbox}.
 *
 * @example
 * ```ts
 * const inbox = new MemoryInbox({ maxEntriesPerUser: 200, maxUsers: 50_000 });
 * ```
 *
 * @category Inbox
 */
export interface MemoryInboxOptions {
  /**
   * Notifications kept per user. Past it, the user's oldest notification is dropped (read or
   * not), and no longer counts as unread.
   * @default 500
   */
  readonly maxEntriesPerUser?: number;
  /**
   * Users kept. Past it, the user whose inbox was used (recorded to, listed, marked) least
   * recently is forgotten whole.
   * @default 10_000
   */
  readonly maxUsers?: number;
  /** Clock for `readAt` and `acknowledgedAt`, for tests. @default Date.now */
  readonly now?: () => number;
}

/**
 * Defaults of {@link MemoryInboxOptions}.
 *
 * @example
 * ```ts
 * const inbox = new MemoryInbox({ maxEntriesPerUser: DEFAULT_MEMORY_INBOX.maxEntriesPerUser * 2 });
 * ```
 *
 * @category Inbox
 */
export const DEFAULT_MEMORY_INBOX = {
  maxEntriesPerUser: 500,
  maxUsers: 10_000,
} as const;

interface Slot {
  readonly notification: StoredNotification;
  /** Store-wide insertion order; cursors point into it. */
  readonly pos: number;
  readAt: string | undefined;
  acknowledgedAt: string | undefined;
}

/** One user's inbox: slots in insertion order (oldest first), from `head` on. */
class Box {
  slots: (Slot | undefined)[] = [];
  head = 0;
  unread = 0;
  readonly byId = new Map<string, Slot>();

  get size(): number {
    return this.slots.length - this.head;
  }

  add(slot: Slot, max: number): void {
    this.slots.push(slot);
    this.byId.set(slot.notification.id, slot);
    this.unread++;
    while (this.size > max) this.#dropOldest();
  }

  /** Removes one slot (a notification whose publish was abandoned). */
  remove(slot: Slot): void {
    const i = this.indexAt(slot.pos);
    if (this.slots[i] !== slot) return;
    this.slots.splice(i, 1);
    this.byId.delete(slot.notification.id);
    if (slot.readAt === undefined) this.unread--;
  }

  /** Index of the first slot whose `pos` is at least `pos` (binary search). */
  indexAt(pos: number): number {
    let lo = this.head;
    let hi = this.slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.slots[mid] as Slot).pos < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #dropOldest(): void {
    const slot = this.slots[this.head];
    if (!slot) return;
    this.byId.delete(slot.notification.id);
    if (slot.readAt === undefined) this.unread--;
    this.slots[this.head] = undefined;
    this.head++;
    if (this.head > 64 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }
}

/** A cursor: the position in base 36, a dot, and a 16-character base64url tag. */
const CURSOR = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{16})$/;

/**
 * The tag that makes a cursor one this store issued, to this user: an HMAC-SHA256 (truncated to
 * 96 bits) of the user id and position under a key drawn when the store was created. A cursor
 * from another store, an earlier process, another user, or typed by hand fails it.
 */
function cursorTag(key: Buffer, userId: string, pos: string): string {
  return createHmac('sha256', key).update(`${userId}\n${pos}`).digest('base64url').slice(0, 16);
}

function encodeCursor(key: Buffer, userId: string, pos: number): string {
  const p = pos.toString(36);
  return `${p}.${cursorTag(key, userId, p)}`;
}

function decodeCursor(key: Buffer, userId: string, cursor: string): number {
  const match = typeof cursor === 'string' ? CURSOR.exec(cursor) : null;
  const [, p = '', tag = ''] = match ?? [];
  const expected = Buffer.from(cursorTag(key, userId, p));
  const pos = Number.parseInt(p, 36);
  if (!match || !timingSafeEqual(Buffer.from(tag), expected) || !Number.isSafeInteger(pos)) {
    // The cursor is not repeated: errors name the field, never what was sent.
    throw new WardcastError(ErrorCode.BadRequest, 'invalid cursor: pass back a next_cursor this inbox returned');
  }
  return pos;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new WardcastError(ErrorCode.InvalidOption, `MemoryInbox: ${name} must be an integer >= 1`);
  }
  return v;
}

/**
 * In-memory {@link InboxStore}: each user's notifications with their shared read and
 * acknowledgement state, bounded per user and in number of users. Lost at a restart; use
 * `@wardcast/postgres` for a durable inbox.
 *
 * - `record` is idempotent per notification id: a second record of the same id changes nothing.
 * - `list` pages newest first; `nextCursor` is an opaque string to pass back as `cursor`.
 * - `unreadCount` counts only notifications still in the inbox and not yet read: marking one
 *   read twice counts once, and a dropped notification no longer counts.
 * - `acknowledge` also marks the notification read.
 *
 * @example
 * ```ts
 * import { MemoryInbox, NotificationHub } from '@wardcast/server';
 *
 * const inbox = new MemoryInbox({ maxEntriesPerUser: 200 });
 * const hub = new NotificationHub({ authenticate, inbox });
 * await hub.notify.appointment('u42', { appointmentId: 'a1', status: 'confirmed', startsAt: '2026-12-01T09:00:00Z' });
 * const page = await inbox.list('u42', { limit: 20 }); // { items: [...], nextCursor, unreadCount: 1 }
 * ```
 *
 * @category Inbox
 */
export class MemoryInbox implements InboxStore {
  /** The limits in force, defaults filled in. */
  readonly options: { readonly maxEntriesPerUser: number; readonly maxUsers: number };
  /** Users in least-recently-used order (a `Map` keeps insertion order; use moves a user last). */
  readonly #boxes = new Map<string, Box>();
  readonly #now: () => number;
  /** Signs the cursors this store issues (see {@link cursorTag}); never leaves the process. */
  readonly #cursorKey = randomBytes(32);
  #pos = 0;

  /** @throws {WardcastError} `invalid_option` when a limit is not an integer >= 1. */
  constructor(options: MemoryInboxOptions = {}) {
    this.options = {
      maxEntriesPerUser: positiveInteger(
        'maxEntriesPerUser',
        options.maxEntriesPerUser,
        DEFAULT_MEMORY_INBOX.maxEntriesPerUser,
      ),
      maxUsers: positiveInteger('maxUsers', options.maxUsers, DEFAULT_MEMORY_INBOX.maxUsers),
    };
    this.#now = options.now ?? Date.now;
  }

  /**
   * Users with an inbox in memory.
   *
   * @example
   * ```ts
   * metrics.gauge('wardcast.inbox.users', inbox.userCount);
   * ```
   */
  get userCount(): number {
    return this.#boxes.size;
  }

  /**
   * Records a notification for `userId`, unread. Idempotent per notification id.
   *
   * @example
   * ```ts
   * inbox.record('u42', storedNotification);
   * ```
   */
  record(userId: string, notification: StoredNotification): void {
    let box = this.#touch(userId);
    if (!box) {
      box = new Box();
      this.#boxes.set(userId, box);
      while (this.#boxes.size > this.options.maxUsers) {
        this.#boxes.delete(this.#boxes.keys().next().value as string);
      }
    }
    if (box.byId.has(notification.id)) return;
    this.#pos++;
    box.add(
      { notification, pos: this.#pos, readAt: undefined, acknowledgedAt: undefined },
      this.options.maxEntriesPerUser,
    );
  }

  /**
   * Removes what `record` stored for a publish that was then abandoned (nobody received it). Only
   * the entry with this notification's id, epoch and seq is removed.
   *
   * @example
   * ```ts
   * inbox.forget('u42', storedNotification);
   * ```
   */
  forget(userId: string, notification: StoredNotification): void {
    const box = this.#boxes.get(userId);
    const slot = box?.byId.get(notification.id);
    if (!box || !slot) return;
    if (slot.notification.epoch !== notification.epoch || slot.notification.seq !== notification.seq) return;
    box.remove(slot);
  }

  /**
   * One page of a user's notifications, newest first.
   *
   * @throws {WardcastError} `bad_request` for a cursor this store did not issue to this user
   * (cursors are signed with a key drawn when the store was created, so they do not survive a
   * restart, which forgets the inbox anyway).
   *
   * @example
   * ```ts
   * const first = inbox.list('u42', { limit: 20 });
   * const second = first.nextCursor ? inbox.list('u42', { cursor: first.nextCursor, limit: 20 }) : undefined;
   * ```
   */
  list(userId: string, options: { readonly cursor?: string; readonly limit: number }): InboxPage {
    const before = options.cursor === undefined ? undefined : decodeCursor(this.#cursorKey, userId, options.cursor);
    const limit = Math.max(1, Math.min(Math.floor(options.limit) || 1, this.options.maxEntriesPerUser));
    const box = this.#touch(userId);
    if (!box) return { items: [], nextCursor: undefined, unreadCount: 0 };
    const items: InboxEntry[] = [];
    let i = (before === undefined ? box.slots.length : box.indexAt(before)) - 1;
    for (; i >= box.head && items.length < limit; i--) items.push(entryOf(box.slots[i] as Slot));
    const last = box.slots[i + 1];
    const nextCursor = i >= box.head && last ? encodeCursor(this.#cursorKey, userId, last.pos) : undefined;
    return { items, nextCursor, unreadCount: box.unread };
  }

  /**
   * Marks a notification read (once: a second call keeps the first `readAt`). `false` when the
   * user has no such notification.
   *
   * @example
   * ```ts
   * inbox.markRead('u42', 'lab:L1:final'); // true
   * ```
   */
  markRead(userId: string, id: string): boolean {
    const box = this.#touch(userId);
    const slot = box?.byId.get(id);
    if (!box || !slot) return false;
    this.#read(box, slot);
    return true;
  }

  /**
   * Records an acknowledgement (once) and marks the notification read. `false` when the user
   * has no such notification.
   *
   * @example
   * ```ts
   * inbox.acknowledge('dr-lee', 'lab:L-778:final'); // true
   * ```
   */
  acknowledge(userId: string, id: string): boolean {
    const box = this.#touch(userId);
    const slot = box?.byId.get(id);
    if (!box || !slot) return false;
    slot.acknowledgedAt ??= new Date(this.#now()).toISOString();
    this.#read(box, slot);
    return true;
  }

  /**
   * The user's newest unread notifications, at most `limit`, oldest first (what the hub
   * replays on a subscribe with `unread: true`). Does not count as a use for the eviction.
   *
   * @example
   * ```ts
   * inbox.unread('u42', 100); // [oldest unread, ..., newest unread]
   * ```
   */
  unread(userId: string, limit: number): StoredNotification[] {
    const box = this.#boxes.get(userId);
    const out: StoredNotification[] = [];
    if (!box) return out;
    for (let i = box.slots.length - 1; i >= box.head && out.length < limit; i--) {
      const slot = box.slots[i] as Slot;
      if (slot.readAt === undefined) out.push(slot.notification);
    }
    return out.reverse();
  }

  /**
   * Unread notifications in a user's inbox (0 for an unknown user). Does not count as a use
   * for the least-recently-used eviction.
   *
   * @example
   * ```ts
   * const badge = inbox.unreadCount('u42');
   * ```
   */
  unreadCount(userId: string): number {
    return this.#boxes.get(userId)?.unread ?? 0;
  }

  /**
   * Forgets everything. The hub calls it from `hub.close()`.
   *
   * @example
   * ```ts
   * inbox.close();
   * ```
   */
  close(): void {
    this.#boxes.clear();
  }

  #read(box: Box, slot: Slot): void {
    if (slot.readAt !== undefined) return;
    slot.readAt = new Date(this.#now()).toISOString();
    box.unread--;
  }

  /** The user's box, moved to the most recently used end; `undefined` if there is none. */
  #touch(userId: string): Box | undefined {
    const box = this.#boxes.get(userId);
    if (box) {
      this.#boxes.delete(userId);
      this.#boxes.set(userId, box);
    }
    return box;
  }
}

function entryOf(slot: Slot): InboxEntry {
  return { notification: slot.notification, readAt: slot.readAt, acknowledgedAt: slot.acknowledgedAt };
}
