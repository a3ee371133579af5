import type {
  EscalationPolicy,
  EscalationRecord,
  EscalationStore,
  HubEvents,
  PublishInput,
  PublishResult,
} from '@wardcast/server';
import type { StoredNotification } from '../../src/core/types.js';
import { type EscalationHost, EscalationManager } from '../../src/escalation/manager.js';

const noop = (): void => {};

/** One publish an {@link InstanceHost} made: `duplicate` when another instance (or itself) sent it before. */
export interface HostPublish {
  readonly topic: string;
  readonly id: string;
  readonly duplicate: boolean;
  readonly at: number;
}

/**
 * A hub as an {@link EscalationManager} sees it, for manager-level tests of several instances in
 * one process: publishes go to a history shared by the instances (`sent`, deduped by topic and id,
 * like a shared Redis history), relayed acks go to the peers' `onRemoteAck` on a later turn of the
 * event loop (like a control channel), events are recorded.
 */
export class InstanceHost implements EscalationHost {
  readonly name: string;
  readonly events: { readonly event: keyof HubEvents; readonly payload: unknown; readonly at: number }[] = [];
  readonly published: HostPublish[] = [];
  readonly broadcasts: { readonly userId: string; readonly id: string }[] = [];
  readonly peers: EscalationManager[] = [];
  readonly logger = { debug: noop, info: noop, warn: noop, error: noop };
  /** What `authorize` says for users outside the chain. */
  allow: (sessionId: string, userId: string, topic: string) => boolean = () => false;
  readonly #sent: Set<string>;

  constructor(name: string, sent: Set<string>) {
    this.name = name;
    this.#sent = sent;
  }

  async publish(topic: string, input: PublishInput): Promise<PublishResult> {
    await new Promise((resolve) => setImmediate(resolve));
    const id = input.id ?? 'no-id';
    const key = `${topic}\u0000${id}`;
    const duplicate = this.#sent.has(key);
    this.#sent.add(key);
    this.published.push({ topic, id, duplicate, at: Date.now() });
    return { id, epoch: 'e1', seq: this.#sent.size, duplicate };
  }

  mayAcknowledge(sessionId: string, userId: string, topic: string): boolean {
    return this.allow(sessionId, userId, topic);
  }

  broadcastAck(userId: string, id: string): void {
    this.broadcasts.push({ userId, id });
    for (const peer of this.peers) setImmediate(() => void peer.onRemoteAck({ userId, id }));
  }

  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void {
    this.events.push({ event, payload: args[0], at: Date.now() });
  }

  /** Payloads of the recorded `event`s. */
  of<K extends keyof HubEvents>(event: K): HubEvents[K][0][] {
    return this.events.filter((e) => e.event === event).map((e) => e.payload as HubEvents[K][0]);
  }
}

/** One instance: a manager on `store` and its host. */
export interface Instance {
  readonly manager: EscalationManager;
  readonly host: InstanceHost;
}

/**
 * `count` instances sharing one history (`sent`), each relaying acks to all the others. Each gets
 * `stores[i]` (one store object may be passed for all, as a shared store).
 */
export function instances(stores: readonly EscalationStore[]): Instance[] {
  const sent = new Set<string>();
  const all = stores.map((store, i) => {
    const host = new InstanceHost(`instance-${i}`, sent);
    return { manager: new EscalationManager(store, host), host };
  });
  for (const a of all) for (const b of all) if (a !== b) a.host.peers.push(b.manager);
  return all;
}

/** A stored critical notification as the pipeline hands it to `start`. */
export function storedCritical(id: string, topic = 'user:alice'): StoredNotification {
  return {
    id,
    topic,
    kind: 'custom',
    priority: 'critical',
    createdAt: new Date().toISOString(),
    payload: { note: 'n' },
    epoch: 'e1',
    seq: 1,
  };
}

/** A policy from `[userId, deadlineMs]` pairs. */
export function chainOf(...steps: readonly (readonly [string, number])[]): EscalationPolicy {
  return { chain: steps.map(([userId, deadlineMs]) => ({ userId, deadlineMs })) };
}

/** Polls `condition` (sync or async) until it holds; rejects with `what` after `timeoutMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** One call a {@link SpyStore} forwarded. */
export interface StoreCall {
  readonly op: 'save' | 'load' | 'loadPending' | 'delete' | 'acknowledge' | 'advance' | 'close';
  readonly id?: string;
  readonly at: number;
  /** What the inner store answered (a record's status for `load`, the boolean of the CAS methods). */
  readonly result?: unknown;
}

/** Overrides of a {@link SpyStore}: return a value to answer without asking the inner store. */
export interface SpyHooks {
  save?(record: EscalationRecord): void | Promise<void>;
  delete?(id: string): void | Promise<void>;
  advance?(next: EscalationRecord, fromStep: number): boolean | undefined | Promise<boolean | undefined>;
  loadPending?(): readonly EscalationRecord[] | undefined | Promise<readonly EscalationRecord[] | undefined>;
}

/**
 * Forwards every call to `inner` (the compare-and-set methods only when it has them) and records
 * it; `hooks` may throw (a failing store) or answer instead of `inner`.
 */
export class SpyStore implements EscalationStore {
  readonly calls: StoreCall[] = [];
  hooks: SpyHooks = {};
  readonly acknowledge?: (id: string, userId: string) => Promise<boolean>;
  readonly advance?: (next: EscalationRecord, fromStep: number) => Promise<boolean>;
  readonly resumeIntervalMs?: number;
  readonly #inner: EscalationStore;

  constructor(inner: EscalationStore, hooks: SpyHooks = {}) {
    this.#inner = inner;
    this.hooks = hooks;
    if (inner.resumeIntervalMs !== undefined) this.resumeIntervalMs = inner.resumeIntervalMs;
    if (inner.acknowledge) {
      this.acknowledge = async (id, userId) => {
        const result = (await inner.acknowledge?.(id, userId)) === true;
        this.calls.push({ op: 'acknowledge', id, at: Date.now(), result });
        return result;
      };
    }
    if (inner.advance) {
      this.advance = async (next, fromStep) => {
        const hooked = await this.hooks.advance?.(next, fromStep);
        const result = hooked ?? (await inner.advance?.(next, fromStep)) === true;
        this.calls.push({ op: 'advance', id: next.id, at: Date.now(), result });
        return result;
      };
    }
  }

  async save(record: EscalationRecord): Promise<void> {
    if (this.hooks.save) await this.hooks.save(record);
    await this.#inner.save(record);
    this.calls.push({ op: 'save', id: record.id, at: Date.now(), result: record.status });
  }

  async load(id: string): Promise<EscalationRecord | undefined> {
    const record = await this.#inner.load(id);
    this.calls.push({ op: 'load', id, at: Date.now(), result: record?.status });
    return record;
  }

  async loadPending(): Promise<readonly EscalationRecord[]> {
    const hooked = await this.hooks.loadPending?.();
    const records = hooked ?? (await this.#inner.loadPending());
    this.calls.push({ op: 'loadPending', at: Date.now(), result: records.length });
    return records;
  }

  async delete(id: string): Promise<void> {
    if (this.hooks.delete) await this.hooks.delete(id);
    await this.#inner.delete(id);
    this.calls.push({ op: 'delete', id, at: Date.now() });
  }

  async close(): Promise<void> {
    this.calls.push({ op: 'close', at: Date.now() });
    await this.#inner.close?.();
  }

  /** The recorded calls of one kind (for one id). */
  of(op: StoreCall['op'], id?: string): StoreCall[] {
    return this.calls.filter((c) => c.op === op && (id === undefined || c.id === id));
  }
}
