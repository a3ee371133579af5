/** Callbacks for browser connectivity and visibility changes. */
export interface EnvironmentHandlers {
  online(): void;
  offline(): void;
  visible(): void;
}

interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/**
 * Listens to `online`/`offline` on `window` and `visibilitychange` on `document` where they
 * exist (browsers); does nothing in Node. Returns a function that removes the listeners.
 */
export function watchEnvironment(handlers: EnvironmentHandlers): () => void {
  const g = globalThis as { window?: EventTargetLike; document?: EventTargetLike & { visibilityState?: string } };
  const win = g.window;
  const doc = g.document;
  if (!win?.addEventListener) return () => {};
  const online = (): void => handlers.online();
  const offline = (): void => handlers.offline();
  const visibility = (): void => {
    if (doc?.visibilityState === 'visible') handlers.visible();
  };
  win.addEventListener('online', online);
  win.addEventListener('offline', offline);
  doc?.addEventListener?.('visibilitychange', visibility);
  return () => {
    win.removeEventListener('online', online);
    win.removeEventListener('offline', offline);
    doc?.removeEventListener?.('visibilitychange', visibility);
  };
}
