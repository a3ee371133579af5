import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createExpressRouter, MemoryInbox, NotificationHub } from '@wardcast/server';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { testAuthenticate } from '../helpers/harness.js';
import { call, publishMany } from './fixture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function listen(app: express.Express, hub: NotificationHub): Promise<string> {
  const server: Server = createServer(app);
  hub.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    await hub.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createExpressRouter', () => {
  it('serves the endpoints in an Express 5 app and leaves other routes to Express', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate, inbox: new MemoryInbox() });
    const app = express();
    app.use(createExpressRouter(hub, { enableTestNotifications: true }));
    app.get('/health', (_req, res) => {
      res.json({ ok: true });
    });
    const base = await listen(app, hub);

    expect((await call(base, 'GET', '/health')).json).toEqual({ ok: true });
    expect((await call(base, 'GET', '/v1/ws/stats')).json).toMatchObject({ success: true, data: { status: 'active' } });
    const sent = await call(base, 'POST', '/v1/ws/test-notification', {
      as: 'u1',
      body: { user_id: 'u1', title: 'Hi', message: 'there' },
    });
    expect(sent.status).toBe(200);
    const list = await call(base, 'GET', '/v1/notifications', { as: 'u1' });
    expect(list.json.data.items).toHaveLength(1);
    const id = list.json.data.items[0].id as string;
    expect((await call(base, 'POST', `/v1/notifications/${id}/read`, { as: 'u1' })).status).toBe(200);
    expect((await call(base, 'GET', '/v1/notifications', { as: 'u1' })).json.data.unread_count).toBe(0);
    // Express's own 404 for paths nobody owns.
    expect((await call(base, 'GET', '/nowhere')).status).toBe(404);
  });

  it('uses a body already parsed by express.json()', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate });
    const app = express();
    app.use(express.json({ limit: '16kb' }));
    app.use(createExpressRouter(hub, { enableTestNotifications: true }));
    const base = await listen(app, hub);
    const ok = await call(base, 'POST', '/v1/ws/test-notification', {
      as: 'u1',
      body: { user_id: 'u1', title: 'Parsed', message: 'by express' },
    });
    expect(ok.status).toBe(200);
    const bad = await call(base, 'POST', '/v1/ws/test-notification', { as: 'u1', body: { user_id: 'u1' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('bad_request');
  });

  it('answers each status code path', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate, inbox: new MemoryInbox() });
    const app = express();
    app.use(createExpressRouter(hub, { enableTestNotifications: true }));
    const base = await listen(app, hub);
    await publishMany(hub, 'u1', 1);
    const body = { user_id: 'u1', title: 't', message: 'm' };
    const statuses = [
      (await call(base, 'GET', '/v1/notifications', { as: 'u1' })).status,
      (await call(base, 'GET', '/v1/notifications?limit=1000', { as: 'u1' })).status,
      (await call(base, 'GET', '/v1/notifications')).status,
      (await call(base, 'POST', '/v1/ws/test-notification', { as: 'u2', body })).status,
      (await call(base, 'POST', '/v1/notifications/nope/read', { as: 'u1' })).status,
      (await call(base, 'DELETE', '/v1/notifications', { as: 'u1' })).status,
      (
        await call(base, 'POST', '/v1/ws/test-notification', {
          as: 'u1',
          body: { ...body, message: 'x'.repeat(17_000) },
        })
      ).status,
    ];
    expect(statuses).toEqual([200, 400, 401, 403, 404, 405, 413]);
  });

  it('keeps the test endpoint off by default, falling through to Express', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate });
    const app = express();
    app.use(createExpressRouter(hub));
    const base = await listen(app, hub);
    const res = await call(base, 'POST', '/v1/ws/test-notification', {
      as: 'u1',
      body: { user_id: 'u1', title: 't', message: 'm' },
    });
    expect(res.status).toBe(404);
    expect(hub.stats().published).toBe(0);
  });

  it('matches the original URL wherever it is mounted, with basePath', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate });
    const app = express();
    app.use('/api', createExpressRouter(hub, { basePath: '/api' }));
    const base = await listen(app, hub);
    expect((await call(base, 'GET', '/api/v1/ws/stats')).status).toBe(200);
    expect((await call(base, 'GET', '/v1/ws/stats')).status).toBe(404);
  });
});
