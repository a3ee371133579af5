/**
 * `@wardcast/client/shared`: one connection per browser, shared by the user's tabs (Web Locks
 * elect the tab that holds the socket, `BroadcastChannel` carries the rest). A separate entry,
 * so the core stays as small without it.
 *
 * @packageDocumentation
 * @module \@wardcast/client/shared
 */
export { createSharedNotificationClient, SharedNotificationClient } from './shared/client.js';
export type { SharedClientOptions } from './shared/options.js';
