import type { UpgradeRefusalReason } from './events.js';
import type { UpgradeRequestLike } from './types.js';

/**
 * Admission before the upgrade: the limits a transport checks before it accepts a WebSocket, so
 * that unauthenticated clients cannot hold more than a bounded share of the hub. Transport
 * agnostic; the hub core owns one instance and exposes it through `HubCore.admit()`.
 *
 * State is bounded: the per-address rate buckets live in a capped map (oldest evicted first, idle
 * entries dropped as they are met), and the per-address count of unauthenticated connections only
 * has entries for addresses with at least one such connection (so at most `maxConnections`).
 */

/** The limits {@link Admission} enforces (resolved, no defaults here). */
export interface AdmissionLimits {
  readonly maxConnections: number;
  readonly maxUnauthenticatedPerAddress: number;
  readonly maxUpgradesPerSecondPerAddress: number;
  readonly maxTrackedAddresses: number;
}

/** Why {@link Admission} refused a connection. */
export type AdmissionRefusal = 'upgrade_rate' | 'too_many_connections' | 'too_many_unauthenticated';

/** A refused admission: the HTTP status to answer and how long the client should wait. */
export interface AdmissionDenied {
  readonly reason: AdmissionRefusal;
  /** `429` for the per-address limits, `503` when the hub is full. */
  readonly status: 429 | 503;
  /** Seconds, for a `Retry-After` header. */
  readonly retryAfterS: number;
}

/**
 * One admitted connection's hold on the limits. The hub releases it; a transport releases it
 * too when the socket closes (both are idempotent), so a failed upgrade never leaks a slot.
 *
 * @category Hub
 */
export interface AdmissionTicket {
  /** The connection authenticated: it no longer counts against its address's unauthenticated limit. */
  authenticated(): void;
  /** The connection is gone: frees its slot (and its unauthenticated slot, if still held). */
  release(): void;
}

interface Bucket {
  tokens: number;
  last: number;
}

/** Seconds to wait when the hub is full: about the time connections take to come and go. */
const FULL_RETRY_AFTER_S = 5;
/** Seconds to wait when an address has too many connections still authenticating. */
const UNAUTHENTICATED_RETRY_AFTER_S = 1;
/** Longest key kept for an address (a `clientAddress` hook may return anything). */
const MAX_KEY_LENGTH = 64;

/**
 * The key limits are counted under: IPv4 addresses as they are (IPv4-mapped IPv6 addresses are
 * IPv4), IPv6 addresses by their /64 prefix (one host usually owns a whole /64, so counting single
 * addresses would let it open 2^64 of them), anything else (a hook's own key) cut to 64 characters.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  // The common case, an IPv4 address (or a hook's key) with no zone or colon: as it is.
  if (address.indexOf(':') === -1 && address.indexOf('%') === -1) {
    return address.length > MAX_KEY_LENGTH ? address.slice(0, MAX_KEY_LENGTH) : address;
  }
  const bare = address.split('%')[0] as string;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mapped) return mapped[1] as string;
  if (!bare.includes(':') || !/^[0-9a-f:.]+$/i.test(bare)) return bare.slice(0, MAX_KEY_LENGTH);
  const halves = bare.toLowerCase().split('::');
  if (halves.length > 2) return bare.slice(0, MAX_KEY_LENGTH);
  const head = halves[0] ? (halves[0] as string).split(':') : [];
  const tail = halves.length === 2 && halves[1] ? (halves[1] as string).split(':') : [];
  const groups =
    halves.length === 2 ? [...head, ...Array(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail] : head;
  const prefix = groups.slice(0, 4).map((g) => (g === '' ? '0' : g.replace(/^0+(?=.)/, '')));
  while (prefix.length < 4) prefix.push('0');
  return `${prefix.join(':')}::/64`;
}

/** Connection counting and per-address limits, checked before a WebSocket upgrade. */
export class Admission {
  readonly #limits: AdmissionLimits;
  readonly #now: () => number;
  /** Admitted connections not yet released. */
  #open = 0;
  /** Unauthenticated connections per address key; only keys with at least one. */
  readonly #unauthenticated = new Map<string, number>();
  /** Upgrade-rate buckets per address key, least recently used first. */
  readonly #buckets = new Map<string, Bucket>();
  /** The key of the last entry of {@link #buckets} (the most recently used), when known. */
  #newest: string | undefined;

  constructor(limits: AdmissionLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Admitted connections not yet released (open sockets plus upgrades in progress). */
  get open(): number {
    return this.#open;
  }

  /** Addresses with at least one unauthenticated connection. */
  get unauthenticatedAddresses(): number {
    return this.#unauthenticated.size;
  }

  /** Addresses whose upgrade rate is being tracked (at most `maxTrackedAddresses`). */
  get trackedAddresses(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one upgrade from `key`'s rate budget. Every upgrade request counts, refused or not.
   * Returns the refusal when the address is over its rate.
   */
  throttle(key: string): AdmissionDenied | undefined {
    const rate = this.#limits.maxUpgradesPerSecondPerAddress;
    const burst = rate * 2;
    const now = this.#now();
    // Stale buckets are dropped as other addresses come: a run of upgrades from one address (a busy
    // NAT, a proxy without `clientAddress`) reads no iterator. Until then they are at most
    // `maxTrackedAddresses`, and refill as they would have.
    if (key !== this.#newest) this.#expireOldest(now, rate, burst);
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: burst, last: now };
      if (this.#buckets.size >= this.#limits.maxTrackedAddresses) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#drop(oldest.value);
      }
    } else {
      // Most recently used last: the map's order is the eviction order (already so for the newest).
      if (key !== this.#newest) this.#buckets.delete(key);
      const elapsed = now - bucket.last;
      if (elapsed > 0) {
        bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * rate) / 1000);
        bucket.last = now;
      }
    }
    if (key !== this.#newest) {
      this.#buckets.set(key, bucket);
      this.#newest = key;
    }
    if (bucket.tokens < 1) {
      return { reason: 'upgrade_rate', status: 429, retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / rate)) };
    }
    bucket.tokens -= 1;
    return undefined;
  }

  /**
   * Takes a connection slot for `key` (an unauthenticated one, until the ticket says
   * `authenticated()`). With `enforce: false` it never refuses (a connection a transport opened
   * without asking still counts).
   */
  acquire(key: string, enforce = true): AdmissionTicket | AdmissionDenied {
    const pending = this.#unauthenticated.get(key) ?? 0;
    if (enforce) {
      if (this.#open >= this.#limits.maxConnections) {
        return { reason: 'too_many_connections', status: 503, retryAfterS: FULL_RETRY_AFTER_S };
      }
      if (pending >= this.#limits.maxUnauthenticatedPerAddress) {
        return { reason: 'too_many_unauthenticated', status: 429, retryAfterS: UNAUTHENTICATED_RETRY_AFTER_S };
      }
    }
    this.#open++;
    this.#unauthenticated.set(key, pending + 1);
    return new Ticket(this, key);
  }

  /** A ticket of `key` authenticated, or was released while unauthenticated. For {@link Ticket} only. */
  leaveUnauthenticated(key: string): void {
    const left = (this.#unauthenticated.get(key) ?? 1) - 1;
    if (left <= 0) this.#unauthenticated.delete(key);
    else this.#unauthenticated.set(key, left);
  }

  /** A ticket was released. For {@link Ticket} only. */
  leave(): void {
    this.#open--;
  }

  /** Drops up to two least recently used buckets that have refilled (they hold no information). */
  #expireOldest(now: number, rate: number, burst: number): void {
    for (let i = 0; i < 2; i++) {
      const first = this.#buckets.entries().next();
      if (first.done) return;
      const [key, bucket] = first.value;
      if (bucket.tokens + ((now - bucket.last) * rate) / 1000 < burst) return;
      this.#drop(key);
    }
  }

  /** Forgets the bucket of `key`. */
  #drop(key: string): void {
    this.#buckets.delete(key);
    if (key === this.#newest) this.#newest = undefined;
  }
}

/** Ticket still counted as unauthenticated. */
const UNAUTHENTICATED = 1;
/** Ticket still holding a connection slot. */
const OPEN = 2;

/**
 * An {@link AdmissionTicket}: one object with two flags per connection (no closures), as it lives
 * as long as the connection.
 */
class Ticket implements AdmissionTicket {
  readonly #admission: Admission;
  readonly #key: string;
  #flags = UNAUTHENTICATED | OPEN;

  constructor(admission: Admission, key: string) {
    this.#admission = admission;
    this.#key = key;
  }

  authenticated(): void {
    if ((this.#flags & UNAUTHENTICATED) === 0) return;
    this.#flags &= ~UNAUTHENTICATED;
    this.#admission.leaveUnauthenticated(this.#key);
  }

  release(): void {
    this.authenticated();
    if ((this.#flags & OPEN) === 0) return;
    this.#flags &= ~OPEN;
    this.#admission.leave();
  }
}

/** Whether `result` of {@link Admission.acquire} is a refusal. */
export function isDenied(result: AdmissionTicket | AdmissionDenied): result is AdmissionDenied {
  return 'reason' in result;
}

/**
 * What `HubCore.admit()` decided about an upgrade request, before the upgrade: accept it (with
 * the request as the hub sees it, `remoteAddress` set to the client address, and the ticket to
 * pass to `open()`), or answer with an HTTP `status`, a short `message` body and, for `429`/`503`,
 * a `Retry-After` of `retryAfterS` seconds.
 *
 * @category Hub
 */
export type AdmitResult =
  | { readonly ok: true; readonly request: UpgradeRequestLike; readonly ticket: AdmissionTicket }
  | {
      readonly ok: false;
      readonly reason: UpgradeRefusalReason;
      readonly status: number;
      readonly message: string;
      readonly retryAfterS?: number;
    };
