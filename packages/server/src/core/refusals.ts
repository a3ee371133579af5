import type { HubEvents, RefusedEvent } from './events.js';
import type { Logger } from './logger.js';
import type { UpgradeRequestLike } from './types.js';

/** Longest `Origin` reported in events and logs (the header is attacker-controlled text). */
const MAX_ORIGIN_LENGTH = 256;

/** The request's `Origin` header, cut to 256 characters, for events and logs. */
export function originOf(request: UpgradeRequestLike): string | undefined {
  const value = request.headers.origin;
  const origin = Array.isArray(value) ? value[0] : (value as string | undefined);
  return origin === undefined ? undefined : origin.slice(0, MAX_ORIGIN_LENGTH);
}

/**
 * Reports a refused upgrade or a connection cut off for its frames: a `debug` log line (reason,
 * status or code, address, origin; never tokens, frames or payloads) and the `refused` event.
 */
export function reportRefusal(
  logger: Logger,
  emit: <K extends keyof HubEvents>(event: K, ...args: HubEvents[K]) => void,
  event: RefusedEvent,
): void {
  if (event.stage === 'upgrade') {
    const { reason, status, remoteAddress, origin } = event;
    logger.debug({ reason, status, remoteAddress, origin }, 'wardcast: upgrade refused');
  } else {
    const { reason, code, sessionId, remoteAddress, origin } = event;
    logger.debug({ reason, code, sessionId, remoteAddress, origin }, 'wardcast: connection refused');
  }
  emit('refused', event);
}
