/**
 * Running a generator as an async function that stays synchronous while it can: each value the
 * generator yields is what an `await` would wait for. A plain value is handed back at once, with
 * no turn of the microtask queue. A thenable is waited for (the run returns a promise from then
 * on), and the generator resumed with what it settles to; plain values after it are still handed
 * back at once. A thenable that rejects is thrown into the generator at its `yield`, so
 * `try`/`catch` around a `yield` catches it as around an `await`. Internal to the hub.
 */

/** A generator run by {@link runSteps}: it yields what it would `await`, and is resumed with the result. */
export type Steps<T> = Generator<unknown, T, unknown>;

/** Anything with a `then` method, as `await` sees it. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * Runs `steps` to its end: its return value when nothing it yielded was a thenable (and it did
 * not throw: then this throws), else a promise of it (rejected with what it throws).
 */
export function runSteps<T>(steps: Steps<T>): T | Promise<T> {
  return advance(steps, steps.next());
}

/** Goes on from `step` while the values yielded are plain; returns a promise at the first thenable. */
function advance<T>(steps: Steps<T>, step: IteratorResult<unknown, T>): T | Promise<T> {
  let current = step;
  while (current.done !== true) {
    const value = current.value;
    if (isThenable(value)) {
      return Promise.resolve(value).then(
        (result) => advance(steps, steps.next(result)),
        (cause: unknown) => advance(steps, steps.throw(cause)),
      );
    }
    current = steps.next(value);
  }
  return current.value;
}
