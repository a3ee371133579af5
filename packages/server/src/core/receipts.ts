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
 * The hub's handling of reads and acks, in one place and in order: the inbox records the read
 * state, the user's other connections (on every instance) get a `receipt` frame, and an ack ends
 * the notification's escalation wherever it is tracked. The public `read`/`ack` events are only
 * for applications to observe.
 */
export class Receipts {
  readonly #host: ReceiptsHost;

  constructor(host: ReceiptsHost) {
    this.#host = host;
  }

  /**
   * A `read`/`ack` frame (the session already answered its own `receipt`). Never rejects: a failing
   * inbox is logged and emitted as a `store_unavailable` error event.
   */
  async fromFrame(receipt: Receipt): Promise<void> {
    const { action, userId, id, sessionId } = receipt;
    if (action === 'ack') void this.#host.escalations.onAck({ sessionId, userId, id });
    if (!this.#host.inbox) return;
    try {
      if (await this.#update(receipt)) this.share(userId, id, action, sessionId);
    } catch (cause) {
      this.#host.logger.warn({ err: cause }, `wardcast: inbox ${action} failed`);
      this.#host.error(new WardcastError(ErrorCode.StoreUnavailable, `inbox ${action} failed`, { cause }));
    }
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

  /** Records the receipt in the inbox; `true` without an inbox. */
  async #update({ action, userId, id }: Receipt): Promise<boolean> {
    const inbox = this.#host.inbox;
    if (!inbox) return true;
    return action === 'ack' ? inbox.acknowledge(userId, id) : inbox.markRead(userId, id);
  }
}
