import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createExpressRouter, MemoryEscalationStore, MemoryInbox, NotificationHub } from '@wardcast/server';
import {
  type AssessmentPipeline,
  createAssessmentExpressRouter,
  createAssessmentPipeline,
} from '@wardcast/server/assessment';
import { createLocalAdapter, createResilientLlm } from '@wardcast/server/llm';
import express from 'express';
import { bearer } from './auth.js';
import { createDemoRouter } from './demo-routes.js';
import { isClinician, isPatientRecord, maySignOff } from './directory.js';
import { DEFAULT_WEB_DIR } from './paths.js';
import { createTokenIssuer } from './tokens.js';

/** Options of {@link createDemo}. */
export interface DemoOptions {
  /** Folder of the built page script (`app.js`), see `src/build-web.ts`. @default `dist/web` of the example */
  readonly webDir?: string;
  /** How long each clinician has to acknowledge a critical result before it escalates, ms. @default 120_000 */
  readonly escalationStepMs?: number;
}

/**
 * Builds the demo: an Express app with a NotificationHub on the same HTTP server, demo sign-in
 * (HMAC-signed tokens), the SDK's HTTP endpoints over a `MemoryInbox`, escalating critical
 * results, presence on patient records, the assessment pipeline, and the clinical page.
 */
export function createDemo(options: DemoOptions = {}): {
  server: Server;
  hub: NotificationHub;
  pipeline: AssessmentPipeline;
} {
  const tokens = createTokenIssuer();
  const escalations = new MemoryEscalationStore();
  const hub = new NotificationHub({
    // Browsers cannot set headers on a WebSocket: the page sends its token in the first frame.
    authenticate: ({ token, request }) => tokens.verify(token ?? bearer(request.headers.authorization)),
    // Everyone: their own user topic and system broadcasts. Clinicians: the listed patient records.
    authorize: (principal, topic) =>
      topic === `user:${principal.userId}` ||
      topic === 'broadcast' ||
      (topic.startsWith('patient:') && isClinician(principal.userId) && isPatientRecord(topic.slice(8))),
    // Notifications to `user:<id>` are kept for offline users and listed by GET /v1/notifications.
    inbox: new MemoryInbox(),
    // Our own store, so the page can show how long is left before a critical result escalates.
    escalations,
  });

  const app = express();
  app.use(express.static(fileURLToPath(new URL('../public', import.meta.url))));
  app.use('/assets', express.static(options.webDir ?? DEFAULT_WEB_DIR));
  app.use(createDemoRouter({ hub, tokens, escalations, escalationStepMs: options.escalationStepMs ?? 120_000 }));

  // The SDK's endpoints: GET /v1/health/live and /v1/health/ready, GET /v1/ws/stats,
  // POST /v1/ws/test-notification (to yourself), and the inbox: GET /v1/notifications,
  // POST /v1/notifications/:id/read and /ack.
  app.use(createExpressRouter(hub, { enableTestNotifications: true }));

  // Assessments: POST /api/assess, GET /api/assess/:id, POST /api/assess/:id/review and /cancel.
  // NEWS2 plus the offline local LLM adapter, streamed to `patient:<id>`. Clinicians may request
  // and read assessments; only doctors sign them off. The patient (whose user id is the record id)
  // hears of a diagnosis only once a doctor made it final.
  const pipeline = createAssessmentPipeline({
    hub,
    llm: createResilientLlm({ adapters: [createLocalAdapter({ delayMs: 25, chunkSize: 12 })] }),
    patientFacingTopic: (patientId) => `user:${patientId}`,
  });
  app.use(
    createAssessmentExpressRouter(pipeline, {
      authorize: (principal, action, { patientId }) =>
        isClinician(principal.userId) &&
        isPatientRecord(patientId) &&
        (action !== 'review' || maySignOff(principal.userId)),
    }),
  );

  const server = createServer(app);
  hub.attach(server);
  server.on('close', () => void pipeline.close());
  return { server, hub, pipeline };
}
