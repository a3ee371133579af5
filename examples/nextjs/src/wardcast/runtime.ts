import { createFetchHandler, createSseNodeHandler, DEFAULT_PATH, MemoryInbox, NotificationHub } from '@wardcast/server';
import { createAssessmentFetchHandler, createAssessmentPipeline } from '@wardcast/server/assessment';
import { createLocalAdapter, createResilientLlm } from '@wardcast/server/llm';
import type { WardcastRuntime } from './global';
import { insecureDemoAuthenticate } from './insecure-demo-auth';

/** Options of {@link createWardcastRuntime}. */
export interface WardcastRuntimeOptions {
  /**
   * Browser origins allowed to open the socket and to POST to the endpoints, e.g.
   * `['http://localhost:3000']`. Needed only when the page is served from another origin than
   * this server (another port, a proxy that rewrites `Host`).
   * @default same origin only (the hub's default)
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Path of the WebSocket endpoint: `/v1/ws/notifications` under an optional prefix. The SSE
   * fallback is served next to it (`<prefix>/v1/sse/notifications`), where the client looks for it.
   * @default '/v1/ws/notifications' (`DEFAULT_PATH`), outside every app route
   */
  readonly wsPath?: string;
}

/**
 * Creates the demo's hub, assessment pipeline and HTTP handlers. Called once, by the custom
 * server, never by a module that Next.js bundles, so `next build` never creates a hub.
 */
export function createWardcastRuntime(options: WardcastRuntimeOptions = {}): WardcastRuntime {
  const wsPath = options.wsPath ?? DEFAULT_PATH;
  // The client finds the SSE stream from the socket's URL: ws://host<prefix>/v1/ws/notifications
  // -> http://host<prefix>/v1/sse/notifications (SseSocket in @wardcast/client/sse).
  if (!wsPath.endsWith(DEFAULT_PATH)) throw new Error(`wsPath must end with ${DEFAULT_PATH}, got ${wsPath}`);
  const prefix = wsPath.slice(0, -DEFAULT_PATH.length);
  const hub = new NotificationHub({
    authenticate: insecureDemoAuthenticate,
    // Demo policy: your own user topic, any patient record, and system broadcasts.
    authorize: (principal, topic) =>
      topic === `user:${principal.userId}` || topic.startsWith('patient:') || topic === 'broadcast',
    // Keeps `user:<id>` notifications for offline users, serves GET /api/v1/notifications, and
    // shares read state between a user's tabs and devices.
    inbox: new MemoryInbox(),
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
  });
  // NEWS2 plus the offline local LLM adapter (no network), streamed to `patient:<id>`. A user
  // whose id is the patient id is that patient, and sees a diagnosis only once it is final.
  const pipeline = createAssessmentPipeline({
    hub,
    llm: createResilientLlm({ adapters: [createLocalAdapter({ delayMs: 15 })] }),
    patientFacingTopic: (patientId) => `user:${patientId}`,
  });
  return {
    hub,
    pipeline,
    wsPath,
    // The Server-Sent Events fallback (GET <prefix>/v1/sse/notifications and the POSTs of its
    // frames), served by the custom server before Next.js: the Node handler sees the client's
    // address (per-address limits), and no response compression can buffer the stream.
    sse: createSseNodeHandler(hub, prefix),
    // GET /api/v1/health/live|ready, GET /api/v1/ws/stats, POST /api/v1/ws/test-notification
    // (to yourself), GET /api/v1/notifications, POST /api/v1/notifications/:id/read and /ack.
    // Not SSE (`sse: false`): the custom server serves it, above.
    api: createFetchHandler(hub, { basePath: '/api', enableTestNotifications: true, sse: false }),
    // POST /api/assess, GET /api/assess/:id, POST /api/assess/:id/review and /cancel.
    // Demo policy: a user whose id starts with `dr-` is a clinician who may sign off.
    assessments: createAssessmentFetchHandler(pipeline, {
      authorize: (principal, action, { assessment }) => {
        if (action === 'review') return principal.userId.startsWith('dr-');
        return action === 'submit' || assessment?.requestedBy === principal.userId;
      },
    }),
    async close() {
      await pipeline.close();
      await hub.close();
    },
  };
}
