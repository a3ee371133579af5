import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createExpressRouter, MemoryInbox, NotificationHub, WardcastError } from '@wardcast/server';
import { type AssessmentPipeline, createAssessmentExpressRouter, createAssessmentPipeline } from '@wardcast/server/assessment';
import { createLocalAdapter, createResilientLlm } from '@wardcast/server/llm';
import express from 'express';
import { createTokenIssuer } from './tokens.js';

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PATIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

function bearer(header: string | readonly string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined;
}

/**
 * Builds the demo: an Express app with a NotificationHub on the same HTTP server, a login
 * endpoint that issues demo tokens, the SDK's HTTP endpoints (`/v1/ws/stats`,
 * `/v1/ws/test-notification`, `/v1/notifications`) over a `MemoryInbox`, and a dashboard page.
 */
export function createDemo(): { server: Server; hub: NotificationHub; pipeline: AssessmentPipeline } {
  const tokens = createTokenIssuer();
  const hub = new NotificationHub({
    // Browsers cannot set headers on a WebSocket: the page sends its token in the first frame.
    authenticate: ({ token, request }) => tokens.verify(token ?? bearer(request.headers.authorization)),
    // Demo policy: your own user topic, any patient record, and system broadcasts.
    authorize: (principal, topic) =>
      topic === `user:${principal.userId}` || topic.startsWith('patient:') || topic === 'broadcast',
    // Notifications to `user:<id>` are kept for offline users and listed by GET /v1/notifications.
    inbox: new MemoryInbox(),
  });

  const app = express();
  app.use(express.static(fileURLToPath(new URL('../public', import.meta.url))));

  app.post('/api/demo/login', express.json({ limit: '16kb' }), (req, res) => {
    const userId = (req.body as { userId?: unknown } | undefined)?.userId;
    if (typeof userId !== 'string' || !USER_ID.test(userId)) {
      res
        .status(400)
        .json({ success: false, error: { code: 'invalid_user_id', message: 'userId must match [A-Za-z0-9_-]{1,64}' } });
      return;
    }
    res.json({ success: true, data: tokens.issue(userId) });
  });

  // Demo-only: the page can also target a patient record, which the SDK's test endpoint (user
  // topics only) does not do. Requests without `patient_id` go on to the SDK's endpoint.
  app.post('/v1/ws/test-notification', express.json({ limit: '16kb' }), async (req, res, next) => {
    const body = (req.body ?? {}) as { patient_id?: unknown; title?: unknown; message?: unknown; priority?: unknown };
    if (typeof body.patient_id !== 'string' || body.patient_id === '') {
      next();
      return;
    }
    const principal = await hub.authenticateRequest({ headers: req.headers }, bearer(req.headers.authorization));
    if (!principal) {
      res.status(401).json({ success: false, error: { code: 'unauthorized', message: 'sign in first' } });
      return;
    }
    if (!PATIENT_ID.test(body.patient_id)) {
      res
        .status(400)
        .json({ success: false, error: { code: 'bad_request', message: 'patient_id must match [A-Za-z0-9_-]{1,64}' } });
      return;
    }
    const topic = `patient:${body.patient_id}`;
    try {
      const result = await hub.publish(topic, {
        kind: 'custom',
        priority: body.priority === 'urgent' || body.priority === 'critical' ? body.priority : 'routine',
        payload: {
          title: String(body.title ?? 'Test notification').slice(0, 200),
          message: String(body.message ?? '').slice(0, 2000),
        },
      });
      res.json({ success: true, data: { topic, ...result } });
    } catch (err) {
      const code = err instanceof WardcastError ? err.code : 'internal_error';
      res
        .status(code === 'internal_error' ? 500 : 400)
        .json({ success: false, error: { code, message: (err as Error).message } });
    }
  });

  // The SDK's endpoints: GET /v1/health/live and /v1/health/ready (for load balancers),
  // GET /v1/ws/stats, POST /v1/ws/test-notification (to yourself), and the inbox:
  // GET /v1/notifications, POST /v1/notifications/:id/read and /ack.
  app.use(createExpressRouter(hub, { enableTestNotifications: true }));

  // Assessments: POST /api/assess, GET /api/assess/:id, POST /api/assess/:id/review and /cancel.
  // NEWS2 plus the offline local LLM adapter, streamed to `patient:<id>`. Demo policies: a user
  // whose id starts with `dr-` is a clinician who may sign off; a user whose id is the patient id
  // is that patient, and sees a diagnosis only once it is final.
  const pipeline = createAssessmentPipeline({
    hub,
    llm: createResilientLlm({ adapters: [createLocalAdapter({ delayMs: 15 })] }),
    patientFacingTopic: (patientId) => `user:${patientId}`,
  });
  app.use(
    createAssessmentExpressRouter(pipeline, {
      authorize: (principal, action) => action !== 'review' || principal.userId.startsWith('dr-'),
    }),
  );

  const server = createServer(app);
  hub.attach(server);
  server.on('close', () => void pipeline.close());
  return { server, hub, pipeline };
}
