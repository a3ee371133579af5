/** Anything with a `then` method, as `await` sees it: what the hub waits for where a hook or store may answer at once or later. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
