import { withWardcast } from '../../../../wardcast/global';

// The SDK's endpoints (inbox list/read/ack, stats, test notification, health) on its Fetch
// handler, under /api/v1. The WebSocket is NOT here: Next.js ends upgrades whose path matches an
// app route, so the hub's socket lives at /v1/ws/notifications, outside `app/` (src/server.ts).
export const dynamic = 'force-dynamic';

const handler = (request: Request): Promise<Response> => withWardcast((wardcast) => wardcast.api(request));

export { handler as GET, handler as HEAD, handler as POST };
