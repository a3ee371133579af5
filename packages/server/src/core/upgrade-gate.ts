import { Admission, type AdmissionTicket, type AdmitResult, addressKey, isDenied } from './admission.js';
import type { HubEvents, UpgradeRefusalReason } from './events.js';
import type { Logger } from './logger.js';
import type { HubLimits, HubOptions } from './options.js';
import { originOf, reportRefusal } from './refusals.js';
import type { UpgradeRequestLike } from './types.js';

/** What the gate needs from its hub. */
export interface UpgradeGateHost {
  readonly limits: Readonly<Required<HubLimits>>;
  readonly clientAddress: HubOptions['clientAddress'];
  readonly logger: Logger;
  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void;
  /** `true` once the hub is closing. */
  closed(): boolean;
  checkOrigin(request: UpgradeRequestLike): boolean;
}

/**
 * The hub's decision on an upgrade request, before the upgrade: client address, shutdown, upgrade
 * rate, origin, connection limits, in that order; every refusal reported (`debug` line and
 * `refused` event). Owns the hub's {@link Admission}.
 */
export class UpgradeGate {
  readonly #host: UpgradeGateHost;
  readonly #admission: Admission;

  constructor(host: UpgradeGateHost) {
    this.#host = host;
    this.#admission = new Admission(host.limits);
  }

  /** See `HubCore.admit`. */
  admit(request: UpgradeRequestLike): AdmitResult {
    const seen = this.clientRequest(request);
    if (this.#host.closed()) return this.refuse(seen, 'shutting_down', 503, 'shutting down');
    const key = addressKey(seen.remoteAddress);
    const throttled = this.#admission.throttle(key);
    if (throttled) return this.refuse(seen, 'upgrade_rate', 429, 'too many requests', throttled.retryAfterS);
    if (!this.#host.checkOrigin(seen)) return this.refuse(seen, 'origin', 403, 'origin not allowed');
    const ticket = this.#admission.acquire(key);
    if (isDenied(ticket)) {
      const message = ticket.status === 503 ? 'server busy' : 'too many connections';
      return this.refuse(seen, ticket.reason, ticket.status, message, ticket.retryAfterS);
    }
    return { ok: true, request: seen, ticket };
  }

  /** A ticket for a connection a transport opened without `admit()`: counted, never refused. */
  untracked(request: UpgradeRequestLike): AdmissionTicket {
    return this.#admission.acquire(addressKey(request.remoteAddress), false) as AdmissionTicket;
  }

  /** Reports a refused upgrade and returns the refusal for the transport to answer. */
  refuse(
    request: UpgradeRequestLike,
    reason: UpgradeRefusalReason,
    status: number,
    message: string,
    retryAfterS?: number,
  ): AdmitResult & { readonly ok: false } {
    const { logger, emit } = this.#host;
    reportRefusal(logger, emit, {
      stage: 'upgrade',
      reason,
      status,
      remoteAddress: request.remoteAddress,
      origin: originOf(request),
    });
    return retryAfterS === undefined
      ? { ok: false, reason, status, message }
      : { ok: false, reason, status, message, retryAfterS };
  }

  /**
   * The request as the hub sees it: `remoteAddress` replaced by what the `clientAddress` hook
   * returns (the TCP peer when there is no hook, it returns nothing, or it throws).
   */
  clientRequest(request: UpgradeRequestLike): UpgradeRequestLike {
    const hook = this.#host.clientAddress;
    if (hook === undefined) return request;
    let address: string | undefined;
    try {
      address = hook(request);
    } catch (cause) {
      this.#host.logger.warn({ err: cause }, 'wardcast: clientAddress threw; using the TCP peer');
    }
    return typeof address === 'string' && address !== '' && address !== request.remoteAddress
      ? { ...request, remoteAddress: address }
      : request;
  }
}
