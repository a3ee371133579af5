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
 * `warn`, with `sessionId` when given, emitted as an `auth_failed` error event). Never rejects.
 */
export async function runAuthenticate(
  host: AuthenticateHost,
  request: UpgradeRequestLike,
  token: string | undefined,
  reauthenticate: boolean,
  sessionId?: string,
): Promise<Principal | undefined> {
  return authenticateNow(host, request, token, reauthenticate, sessionId);
}

/**
 * {@link runAuthenticate} without the wait: the verdict itself when `authenticate` returns a
 * value (or throws), a promise of it only when `authenticate` returns one. For the connect path,
 * where a synchronous `authenticate` then costs no turn of the microtask queue. Never rejects.
 */
export function authenticateNow(
  host: AuthenticateHost,
  request: UpgradeRequestLike,
  token: string | undefined,
  reauthenticate: boolean,
  sessionId?: string,
): Principal | undefined | Promise<Principal | undefined> {
  let result: ReturnType<Authenticate>;
  try {
    result = host.authenticate(token === undefined ? { request, reauthenticate } : { request, token, reauthenticate });
    // As `await` would: anything with a `then` method is waited for.
    if (typeof (result as { then?: unknown } | null | undefined)?.then === 'function') {
      return Promise.resolve(result).then(principalOf, (cause: unknown) => threw(host, cause, sessionId));
    }
  } catch (cause) {
    return threw(host, cause, sessionId);
  }
  return principalOf(result as Principal | null | undefined);
}

function principalOf(principal: Principal | null | undefined): Principal | undefined {
  return principal && typeof principal.userId === 'string' && principal.userId !== '' ? principal : undefined;
}

function threw(host: AuthenticateHost, cause: unknown, sessionId: string | undefined): undefined {
  host.logger.warn(
    sessionId === undefined ? { err: cause } : { sessionId, err: cause },
    'wardcast: authenticate threw',
  );
  host.emit('error', new WardcastError(ErrorCode.AuthFailed, 'authenticate threw', { cause }));
  return undefined;
}
