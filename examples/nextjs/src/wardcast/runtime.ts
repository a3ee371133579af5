import { createFetchHandler, DEFAULT_PATH, MemoryInbox, NotificationHub } from '@wardcast/server';
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
   * Path of the WebSocket endpoint.
   * @default '/v1/ws/notifications' (`DEFAULT_PATH`), outside every app route
   */
  readonly wsPath?: string;
}

/**
 * Creates the demo's hub, assessment pipeline and HTTP handlers. Called once, by the custom
 * server, never by a module that Next.js bundles, so `next build` never creates a hub.
 */
export function createWardcastRuntime(options: WardcastRuntimeOptions = {}): WardcastRuntime {
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
    wsPath: options.wsPath ?? DEFAULT_PATH,
    // GET /api/v1/health/live|ready, GET /api/v1/ws/stats, POST /api/v1/ws/test-notification
    // (to yourself), GET /api/v1/notifications, POST /api/v1/notifications/:id/read and /ack.
    api: createFetchHandler(hub, { basePath: '/api', enableTestNotifications: true }),
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
