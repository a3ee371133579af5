import type { ControlHandler, ControlMessage, PresenceMember } from '../broker/types.js';
import { type Logger, silentLogger } from '../core/logger.js';

/**
 * A control message on the wire between hub instances: `o` the sending instance, `m` the message.
 * A backplane may add fields of its own (they are kept as they came, unchecked).
 *
 * @example
 * ```ts
 * const raw = JSON.stringify({ o: instanceId, m: { type: 'disconnect', userId: 'u1', reason: 'logout' } } satisfies ControlEnvelope);
 * ```
 *
 * @category Backplane authoring
 */
export interface ControlEnvelope {
  readonly o: string;
  readonly m: ControlMessage;
}

const str = (v: unknown): v is string => typeof v === 'string';

function isMember(v: unknown): v is PresenceMember {
  const m = v as PresenceMember;
  return typeof m === 'object' && m !== null && str(m.topic) && str(m.userId);
}

/**
 * Checks a control message from the wire: JSON with a string `o` and an `m` that is a
 * well-formed {@link ControlMessage}. Anything else is `undefined` (drop it).
 *
 * @example
 * ```ts
 * const envelope = parseControlEnvelope(payload);
 * if (envelope && envelope.o !== instanceId) handle(envelope.m, envelope.o);
 * ```
 *
 * @category Backplane authoring
 */
export function parseControlEnvelope(raw: string): ControlEnvelope | undefined {
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
      return str(m.userId) && str(m.reason) ? (e as ControlEnvelope) : undefined;
    case 'receipt':
      return str(m.userId) && str(m.id) && (m.action === 'read' || m.action === 'ack')
        ? (e as ControlEnvelope)
        : undefined;
    case 'escalation_ack':
      return str(m.userId) && str(m.id) ? (e as ControlEnvelope) : undefined;
    case 'presence':
      return str(m.topic) && str(m.userId) && typeof m.present === 'boolean' ? (e as ControlEnvelope) : undefined;
    case 'presence_snapshot':
      return Array.isArray(m.members) && m.members.every(isMember) ? (e as ControlEnvelope) : undefined;
    default:
      return undefined;
  }
}

/**
 * This instance's presence: the `(topic, user)` pairs it announced, each as one string field
 * (`topic \n userId`, as a backplane may store them).
 *
 * @example
 * ```ts
 * const own = new PresencePairs();
 * const field = own.apply({ topic: 'patient:7', userId: 'u1', present: true });
 * own.members(); // [{ topic: 'patient:7', userId: 'u1' }]
 * ```
 *
 * @category Backplane authoring
 */
export class PresencePairs {
  readonly #fields = new Set<string>();

  /** The field of one pair. */
  static field(topic: string, userId: string): string {
    return `${topic}\n${userId}`;
  }

  /** The pairs of stored fields (malformed ones are skipped). */
  static members(fields: Iterable<string>): PresenceMember[] {
    const out: PresenceMember[] = [];
    for (const f of fields) {
      const i = f.indexOf('\n');
      if (i > 0) out.push({ topic: f.slice(0, i), userId: f.slice(i + 1) });
    }
    return out;
  }

  /** Records a `presence` change; returns its field. */
  apply(change: { readonly topic: string; readonly userId: string; readonly present: boolean }): string {
    const field = PresencePairs.field(change.topic, change.userId);
    if (change.present) this.#fields.add(field);
    else this.#fields.delete(field);
    return field;
  }

  /** Every field, in the order they were added. */
  fields(): string[] {
    return [...this.#fields];
  }

  /** Every pair. */
  members(): PresenceMember[] {
    return PresencePairs.members(this.#fields);
  }

  clear(): void {
    this.#fields.clear();
  }
}

/**
 * Options of {@link ControlRouter}.
 *
 * @example
 * ```ts
 * const options: ControlRouterOptions = { self: instanceId, source: 'my-backplane', logger };
 * ```
 *
 * @category Backplane authoring
 */
export interface ControlRouterOptions {
  /** This instance's id: its own messages, echoed back by the transport, are dropped. */
  readonly self: string;
  /** Prefix of the log lines, e.g. `'wardcast/redis'`. */
  readonly source: string;
  /** Receives malformed messages and throwing handlers. @default no logging */
  readonly logger?: Logger;
  /**
   * Takes each accepted envelope in arrival order, once nothing is held; it must end in
   * {@link ControlRouter.deliver}. @default delivers at once
   */
  readonly dispatch?: (envelope: ControlEnvelope) => void;
}

/**
 * The receiving side of a backplane's control channel: checks each message, drops this
 * instance's own, holds the rest while a presence snapshot loads ({@link ControlRouter.hold} until
 * {@link ControlRouter.flush}; held from the start until the first flush), hands them to the hub's
 * handler in order, and keeps track of the instances it told the hub about, so that an instance
 * that stopped is announced as an empty membership ({@link ControlRouter.forgetGone}).
 *
 * @example
 * ```ts
 * const router = new ControlRouter({ self: instanceId, source: 'my-backplane', logger });
 * connection.on('control', (raw) => router.message(raw));
 * // in BrokerControl.subscribe:
 * router.subscribe(handler);
 * // after every (re)connect:
 * router.hold();
 * try {
 *   for (const [id, members] of await loadSnapshots()) router.deliver(id, { type: 'presence_snapshot', members });
 *   router.forgetGone(liveInstances);
 * } finally {
 *   router.flush();
 * }
 * ```
 *
 * @category Backplane authoring
 */
export class ControlRouter {
  #handler: ControlHandler | undefined;
  /** Messages waiting for a snapshot load to finish. */
  #held: ControlEnvelope[] | undefined = [];
  /** Instances we told the hub about. */
  readonly #known = new Set<string>();
  readonly #o: ControlRouterOptions;
  readonly #logger: Logger;

  constructor(options: ControlRouterOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Sets the hub's handler (`BrokerControl.subscribe`). */
  subscribe(handler: ControlHandler): void {
    this.#handler = handler;
  }

  /** A message on the control channel. */
  message(raw: string): void {
    const envelope = parseControlEnvelope(raw);
    if (!envelope) {
      this.#logger.warn({}, `${this.#o.source}: malformed control message ignored`);
      return;
    }
    if (envelope.o === this.#o.self) return;
    if (this.#held) this.#held.push(envelope);
    else this.#dispatch(envelope);
  }

  /** Holds incoming messages until {@link ControlRouter.flush}. */
  hold(): void {
    this.#held ??= [];
  }

  /** Dispatches the held messages, in order, and stops holding. */
  flush(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const e of held) this.#dispatch(e);
  }

  /** Hands `message` from `origin` to the hub's handler (a throwing handler is logged). */
  deliver(origin: string, message: ControlMessage): void {
    if (message.type === 'presence_snapshot' && message.members.length === 0) this.#known.delete(origin);
    else if (message.type === 'presence' || message.type === 'presence_snapshot') this.#known.add(origin);
    try {
      this.#handler?.(message, origin);
    } catch (cause) {
      this.#logger.error({ err: cause }, `${this.#o.source}: control handler threw`);
    }
  }

  /** Announces every instance the hub knows of but `live` lacks as an empty membership. */
  forgetGone(live: readonly string[]): void {
    const alive = new Set(live);
    for (const id of [...this.#known]) {
      if (!alive.has(id)) this.deliver(id, { type: 'presence_snapshot', members: [] });
    }
  }

  /** Drops the handler and whatever was held. */
  close(): void {
    this.#handler = undefined;
    this.#held = undefined;
  }

  #dispatch(envelope: ControlEnvelope): void {
    if (this.#o.dispatch) this.#o.dispatch(envelope);
    else this.deliver(envelope.o, envelope.m);
  }
}
