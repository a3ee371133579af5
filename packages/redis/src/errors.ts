import { ErrorCode, WardcastError } from '@wardcast/protocol';

/** The typed error every failed Redis operation surfaces as: `store_unavailable`, with the cause. */
export function unavailable(what: string, cause?: unknown): WardcastError {
  return new WardcastError(
    ErrorCode.StoreUnavailable,
    `redis backplane: ${what}`,
    cause === undefined ? undefined : { cause },
  );
}
