/** The client's handling of a socket itself: the open state, letting go of one. */
import type { WebSocketLike } from './types.js';

/** `WebSocket.OPEN`: the socket takes frames. */
export const OPEN = 1;

/** Lets go of a socket: removes the client's handlers from it (a late event does nothing) and closes it. */
export function detach(ws: WebSocketLike, code: number, reason: string): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = () => {};
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // Already closed or still connecting in an implementation that refuses close(): nothing to free.
  }
}
