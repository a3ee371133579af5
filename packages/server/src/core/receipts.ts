import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import type { EscalationManager } from '../escalation/manager.js';
import type { InboxStore } from '../inbox/types.js';
import type { Cluster } from './cluster.js';
import type { Logger } from './logger.js';
import type { Registry } from './registry.js';
import type { Session } from './session.js';

/** A `read` or `ack` of one notification by one user. */
export interface Receipt {
  readonly action: 'read' | 'ack';
  readonly userId: string;
  readonly id: string;
  /** The connection it came from (`'http'` outside a WebSocket). */
  readonly sessionId: string;
}

/**
 * What became of a `read`/`ack` frame: `recorded` (answer with a `receipt`), or an error code to
 * answer with instead: `unknown_notification` (nothing vouches for the id; nothing happened) or
 * `store_unavailable` (the inbox could not say; the client may retry).
 */
export type ReceiptVerdict = 'recorded' | typeof ErrorCode.UnknownNotification | typeof ErrorCode.StoreUnavailable;

/** What {@link Receipts} needs from its hub. */
export interface ReceiptsHost {
  readonly inbox: InboxStore | undefined;
  readonly escalations: EscalationManager;
  readonly registry: Registry<Session>;
  readonly cluster: Cluster;
  readonly logger: Logger;
  error(error: WardcastError): void;
}

/**
 * The hub's handling of reads and acks, in one place and in order: the id is checked, the inbox
 * records the read state, the user's other connections (on every instance) get a `receipt`
 * frame, and an ack ends the notification's escalation wherever it is tracked. The public
 * `read`/`ack` events are only for applications to observe.
 *
 * The check of a frame's id, cheapest first, without any per-user state of its own:
 * 1. the session was sent it lately (its bounded `RecentDeliveries`, no I/O);
 * 2. the user's inbox has it (the inbox update itself answers: `false` for an unknown id), which
 *    covers a `user:` topic notification received earlier, on another connection or instance;
 * 3. it is an escalation (original or `<id>~<step>`) the user may acknowledge, tracked here or
 *    in the escalation store (a shared store covers other instances).
 */
export class Receipts {
  readonly #host: ReceiptsHost;

  constructor(host: ReceiptsHost) {
    this.#host = host;
  }

  /**
   * A `read`/`ack` frame; `delivered` when the session was sent that id lately. Resolves with what
   * the session answers. A delivered id is recorded at once and its inbox update and escalation
   * ack run in the background (a failing inbox is logged and emitted as a `store_unavailable`
   * error event). Any other id is recorded only when the inbox or the escalation store vouches for
   * it; an id nothing vouches for reaches neither. Never rejects.
   */
  async fromFrame(receipt: Receipt, delivered: boolean): Promise<ReceiptVerdict> {
    const { action, userId, id, sessionId } = receipt;
    if (delivered) {
      if (action === 'ack') void this.#host.escalations.onAck({ sessionId, userId, id });
      if (this.#host.inbox) void this.#record(receipt);
      return 'recorded';
    }
    let known = false;
    let inboxFailed = false;
    if (this.#host.inbox) {
      const recorded = await this.#record(receipt);
      known = recorded === true;
      inboxFailed = recorded === undefined;
    }
    // Not the user's (or not a `user:` topic notification): an escalation the user may acknowledge?
    if (!known) known = await this.#host.escalations.recognizes({ sessionId, userId, id });
    if (!known) return inboxFailed ? ErrorCode.StoreUnavailable : ErrorCode.UnknownNotification;
    if (action === 'ack') void this.#host.escalations.onAck({ sessionId, userId, id });
    return 'recorded';
  }

  /**
   * A `read`/`ack` from outside a WebSocket. Resolves `false` when an inbox is configured and the
   * user has no such notification (nothing else happens then).
   * @throws {WardcastError} `store_unavailable` when the inbox failed.
   */
  async fromRequest(receipt: Receipt): Promise<boolean> {
    const { action, userId, id, sessionId } = receipt;
    let found: boolean;
    try {
      found = await this.#update(receipt);
    } catch (cause) {
      if (isWardcastError(cause)) throw cause;
      throw new WardcastError(ErrorCode.StoreUnavailable, 'inbox store failed', { cause });
    }
    if (!found) return false;
    if (this.#host.inbox) this.share(userId, id, action, sessionId);
    if (action === 'ack') await this.#host.escalations.onAck({ sessionId, userId, id });
    return true;
  }

  /**
   * Sends a `receipt` frame to the user's connections on this instance (but `exceptSessionId`)
   * and, through the broker's control channel, on the others. A failing control channel is logged
   * and emitted, never thrown.
   */
  share(userId: string, id: string, action: 'read' | 'ack', exceptSessionId: string | undefined): void {
    this.sendLocal(userId, id, action, exceptSessionId);
    this.#host.cluster.post({ type: 'receipt', userId, id, action });
  }

  /** Sends a `receipt` frame to every open connection of `userId` on this instance but `exceptSessionId`. */
  sendLocal(userId: string, id: string, action: 'read' | 'ack', exceptSessionId?: string): number {
    let sent = 0;
    for (const s of this.#host.registry.connectionsOf(userId) ?? []) {
      if (!s.isOpen || s.id === exceptSessionId) continue;
      s.send({ type: 'receipt', id, action });
      sent++;
    }
    return sent;
  }

  /**
   * Records a frame's receipt in the inbox and shares it with the user's other connections.
   * Resolves `true` when the inbox had the id, `false` when not, `undefined` when it failed
   * (logged and emitted as a `store_unavailable` error event). Never rejects.
   */
  async #record(receipt: Receipt): Promise<boolean | undefined> {
    const { action, userId, id, sessionId } = receipt;
    try {
      if (!(await this.#update(receipt))) return false;
    } catch (cause) {
      this.#host.logger.warn({ err: cause }, `wardcast: inbox ${action} failed`);
      this.#host.error(new WardcastError(ErrorCode.StoreUnavailable, `inbox ${action} failed`, { cause }));
      return undefined;
    }
    this.share(userId, id, action, sessionId);
    return true;
  }

  /** Records the receipt in the inbox; `true` without an inbox. */
  async #update({ action, userId, id }: Receipt): Promise<boolean> {
    const inbox = this.#host.inbox;
    if (!inbox) return true;
    return action === 'ack' ? inbox.acknowledge(userId, id) : inbox.markRead(userId, id);
  }
}
