import { ErrorCode } from '@wardcast/protocol';
import { failure } from './errors.js';
import type { HttpResult } from './types.js';

/** The handlers of one path, by upper-case method. */
export type Routes = Readonly<Record<string, (() => Promise<HttpResult>) | undefined>>;

/**
 * Runs the route for `method`, answers 405 with an `allow` list when the path has none, and
 * turns a thrown error into a result with `onError`.
 */
export async function dispatch(
  routes: Routes,
  method: string,
  onError: (err: unknown, method: string) => HttpResult,
): Promise<HttpResult> {
  const upper = method.toUpperCase();
  const route = routes[upper];
  if (!route) {
    const allow = Object.keys(routes).join(', ');
    // The method is not repeated: a Fetch runtime passes any token the client sent.
    return failure(405, ErrorCode.MethodNotAllowed, `method not allowed here; use ${allow}`, { allow });
  }
  try {
    return await route();
  } catch (err) {
    return onError(err, upper);
  }
}
