import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { NotificationHub, WardcastError } from '@wardcast/server';
import express from 'express';
import { createTokenIssuer } from './tokens.js';

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

function bearer(header: string | readonly string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined;
}

/**
 * Builds the demo: an Express app with a NotificationHub on the same HTTP server, a login
 * endpoint that issues demo tokens, the seed product's `/v1/ws/stats` and
 * `/v1/ws/test-notification` endpoints, and a dashboard page.
 */
export function createDemo(): { server: Server; hub: NotificationHub } {
  const tokens = createTokenIssuer();
  const hub = new NotificationHub({
    // Browsers cannot set headers on a WebSocket: the page sends its token in the first frame.
    authenticate: ({ token, request }) => tokens.verify(token ?? bearer(request.headers.authorization)),
    // Demo policy: your own user topic, any patient record, and system broadcasts.
    authorize: (principal, topic) =>
      topic === `user:${principal.userId}` || topic.startsWith('patient:') || topic === 'broadcast',
  });

  const app = express();
  app.use(express.json({ limit: '16kb' }));
  app.use(express.static(fileURLToPath(new URL('../public', import.meta.url))));

  app.post('/api/demo/login', (req, res) => {
    const userId = (req.body as { userId?: unknown } | undefined)?.userId;
    if (typeof userId !== 'string' || !USER_ID.test(userId)) {
      res
        .status(400)
        .json({ success: false, error: { code: 'invalid_user_id', message: 'userId must match [A-Za-z0-9_-]{1,64}' } });
      return;
    }
    res.json({ success: true, data: tokens.issue(userId) });
  });

  app.get('/v1/ws/stats', (_req, res) => {
    const s = hub.stats();
    res.json({
      success: true,
      data: {
        connected_clients: s.connections,
        users: s.users,
        topics: s.topics,
        deliveries: s.deliveries,
        status: 'active',
      },
    });
  });

  app.post('/v1/ws/test-notification', async (req, res) => {
    if (!tokens.verify(bearer(req.headers.authorization))) {
      res.status(401).json({ success: false, error: { code: 'auth_failed', message: 'sign in first' } });
      return;
    }
    const body = (req.body ?? {}) as {
      user_id?: unknown;
      patient_id?: unknown;
      title?: unknown;
      message?: unknown;
      priority?: unknown;
    };
    const target =
      typeof body.patient_id === 'string' && body.patient_id !== ''
        ? `patient:${body.patient_id}`
        : `user:${String(body.user_id ?? '')}`;
    try {
      const result = await hub.publish(target, {
        kind: 'custom',
        priority: body.priority === 'urgent' || body.priority === 'critical' ? body.priority : 'routine',
        payload: {
          title: String(body.title ?? 'Test notification').slice(0, 200),
          message: String(body.message ?? '').slice(0, 2000),
        },
      });
      res.json({ success: true, data: { topic: target, ...result } });
    } catch (err) {
      const code = err instanceof WardcastError ? err.code : 'internal_error';
      res
        .status(code === 'internal_error' ? 500 : 400)
        .json({ success: false, error: { code, message: (err as Error).message } });
    }
  });

  const server = createServer(app);
  hub.attach(server);
  return { server, hub };
}
