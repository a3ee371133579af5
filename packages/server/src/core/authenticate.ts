import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { HubEvents } from './events.js';
import type { Logger } from './logger.js';
import type { Authenticate, Principal, UpgradeRequestLike } from './types.js';

/** What {@link runAuthenticate} needs from the hub. */
export interface AuthenticateHost {
  readonly authenticate: Authenticate;
  readonly logger: Logger;
  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void;
}

/**
 * Calls the application's `authenticate` once, for a socket or an HTTP request. A principal
 * without a non-empty `userId` counts as a rejection; a throwing `authenticate` too (logged at
 * `warn` with `logContext`, emitted as an `auth_failed` error event). Never rejects.
 */
export async function runAuthenticate(
  host: AuthenticateHost,
  request: UpgradeRequestLike,
  token: string | undefined,
  reauthenticate: boolean,
  logContext: Readonly<Record<string, unknown>> = {},
): Promise<Principal | undefined> {
  try {
    const principal = await host.authenticate(
      token === undefined ? { request, reauthenticate } : { request, token, reauthenticate },
    );
    return principal && typeof principal.userId === 'string' && principal.userId !== '' ? principal : undefined;
  } catch (cause) {
    host.logger.warn({ ...logContext, err: cause }, 'wardcast: authenticate threw');
    host.emit('error', new WardcastError(ErrorCode.AuthFailed, 'authenticate threw', { cause }));
    return undefined;
  }
}
