const MAX_DELAY = 2_147_483_647;

/**
 * `setTimeout` that accepts delays past ~24.8 days (re-arming as needed) and never keeps the
 * process alive. Returns a cancel function.
 */
export function schedule(delayMs: number, fn: () => void): () => void {
  let handle: ReturnType<typeof setTimeout>;
  const arm = (remaining: number): void => {
    handle = setTimeout(
      () => {
        if (remaining > MAX_DELAY) arm(remaining - MAX_DELAY);
        else fn();
      },
      Math.max(0, Math.min(remaining, MAX_DELAY)),
    );
    (handle as { unref?: () => void }).unref?.();
  };
  arm(delayMs);
  return () => clearTimeout(handle);
}
