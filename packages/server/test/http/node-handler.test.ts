import { request as httpRequest } from 'node:http';
import { MemoryInbox } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { nextRef } from '../helpers/client.js';
import { TOKEN_PREFIX, tokenFor, useHarness, waitForEvent } from '../helpers/harness.js';
import { call, publishMany, recordingLogger, startHttp, streamOf } from './fixture.js';

const harness = useHarness();

describe('GET /v1/ws/stats', () => {
  it('answers the seed product shape with counts only', async () => {
    const f = await startHttp(harness);
    await harness.subscriber(f, 'u1', ['user:u1']);
    await f.hub.publish('user:u1', { kind: 'custom', payload: { title: 'PHI-MARKER' } });
    const res = await call(f.base, 'GET', '/v1/ws/stats');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toEqual({
      success: true,
      data: {
        connected_clients: 1,
        authenticated_clients: 1,
        users: 1,
        topics: 1,
        subscriptions: 1,
        deliveries: 1,
        published: 1,
        uptime_ms: expect.any(Number),
        status: 'active',
      },
    });
    expect(res.text).not.toContain('PHI-MARKER');
    expect(res.text).not.toContain('u1');
    expect(res.text).not.toContain(TOKEN_PREFIX);
  });

  it('can require authentication, or be turned off', async () => {
    const authed = await startHttp(harness, {}, { stats: 'authenticated' });
    expect((await call(authed.base, 'GET', '/v1/ws/stats')).status).toBe(401);
    expect((await call(authed.base, 'GET', '/v1/ws/stats', { as: 'u1' })).status).toBe(200);
    const off = await startHttp(harness, {}, { stats: 'off' });
    expect((await call(off.base, 'GET', '/v1/ws/stats')).status).toBe(404);
  });

  it('answers 405 with Allow for other methods', async () => {
    const f = await startHttp(harness);
    const res = await call(f.base, 'DELETE', '/v1/ws/stats');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect(res.json).toEqual({ success: false, error: { code: 'method_not_allowed', message: expect.any(String) } });
  });

  it('answers 404 JSON for paths it does not own when there is no next()', async () => {
    const f = await startHttp(harness);
    const res = await call(f.base, 'GET', '/v1/ws/other');
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('not_found');
  });
});

describe('POST /v1/ws/test-notification', () => {
  const body = { user_id: 'u1', title: 'Hello', message: 'from the test' };

  it('is disabled unless enabled by an option', async () => {
    const f = await startHttp(harness);
    const res = await call(f.base, 'POST', '/v1/ws/test-notification', { as: 'u1', body });
    expect(res.status).toBe(404);
    expect(f.hub.stats().published).toBe(0);
  });

  it('publishes a custom notification to the caller, delivered live and kept in the inbox', async () => {
    const f = await startHttp(harness, {}, { enableTestNotifications: true });
    const client = await harness.subscriber(f, 'u1', ['user:u1']);
    const res = await call(f.base, 'POST', '/v1/ws/test-notification', {
      as: 'u1',
      body: { ...body, priority: 'urgent', patient_id: 'ignored' },
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      success: true,
      data: { topic: 'user:u1', id: expect.any(String), epoch: expect.any(String), seq: 1, duplicate: false },
    });
    const n = await client.notification(res.json.data.id);
    expect(n).toMatchObject({
      kind: 'custom',
      priority: 'urgent',
      payload: { title: 'Hello', message: 'from the test' },
    });
    expect(f.inbox?.unreadCount('u1')).toBe(1);
  });

  it("sends to the caller's own topic when user_id is omitted", async () => {
    const f = await startHttp(harness, {}, { enableTestNotifications: true });
    const client = await harness.subscriber(f, 'u1', ['user:u1']);
    const res = await call(f.base, 'POST', '/v1/ws/test-notification', {
      as: 'u1',
      body: { title: 'Hello', message: 'to myself' },
    });
    expect(res.status).toBe(200);
    expect(res.json.data).toMatchObject({ topic: 'user:u1', seq: 1 });
    await client.notification(res.json.data.id);
  });

  it('answers 401 without valid credentials', async () => {
    const f = await startHttp(harness, {}, { enableTestNotifications: true });
    const none = await call(f.base, 'POST', '/v1/ws/test-notification', { body });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.json.error.code).toBe('unauthorized');
    const forged = await call(f.base, 'POST', '/v1/ws/test-notification', {
      body,
      headers: { authorization: 'Bearer forged' },
    });
    expect(forged.status).toBe(401);
  });

  it('answers 401 when authenticate throws, reporting it as an error event', async () => {
    const f = await startHttp(
      harness,
      {
        authenticate: () => {
          throw new Error('idp down');
        },
      },
      { enableTestNotifications: true },
    );
    const failed = waitForEvent(f.hub, 'error', (e) => e.code === 'auth_failed');
    const res = await call(f.base, 'POST', '/v1/ws/test-notification', { as: 'u1', body });
    expect(res.status).toBe(401);
    await failed;
  });

  it('answers 403 for another user unless canSendTestTo allows it', async () => {
    const denied = await startHttp(harness, {}, { enableTestNotifications: true });
    const res = await call(denied.base, 'POST', '/v1/ws/test-notification', { as: 'u2', body });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('forbidden');
    expect(denied.hub.stats().published).toBe(0);

    const allowed = await startHttp(
      harness,
      {},
      {
        enableTestNotifications: true,
        canSendTestTo: (principal, userId) => principal.userId === 'admin' && userId === 'u1',
      },
    );
    expect((await call(allowed.base, 'POST', '/v1/ws/test-notification', { as: 'admin', body })).status).toBe(200);
    expect((await call(allowed.base, 'POST', '/v1/ws/test-notification', { as: 'u2', body })).status).toBe(403);

    const throwing = await startHttp(
      harness,
      {},
      {
        enableTestNotifications: true,
        canSendTestTo: () => {
          throw new Error('boom');
        },
      },
    );
    expect((await call(throwing.base, 'POST', '/v1/ws/test-notification', { as: 'u2', body })).status).toBe(403);
  });

  it('answers 403 to a browser origin the hub does not allow', async () => {
    const f = await startHttp(
      harness,
      { allowedOrigins: ['https://portal.example.org'] },
      { enableTestNotifications: true },
    );
    const evil = await call(f.base, 'POST', '/v1/ws/test-notification', {
      as: 'u1',
      body,
      headers: { origin: 'https://evil.example.com' },
    });
    expect(evil.status).toBe(403);
    const good = await call(f.base, 'POST', '/v1/ws/test-notification', {
      as: 'u1',
      body,
      headers: { origin: 'https://portal.example.org' },
    });
    expect(good.status).toBe(200);
  });

  it.each([
    ['a missing title', { user_id: 'u1', message: 'm' }],
    ['an empty title', { user_id: 'u1', title: '', message: 'm' }],
    ['a title over 200 characters', { user_id: 'u1', title: 'x'.repeat(201), message: 'm' }],
    ['a user id that cannot be a topic', { user_id: 'u 1', title: 't', message: 'm' }],
    ['a number as message', { user_id: 'u1', title: 't', message: 5 }],
    ['an unknown priority', { user_id: 'u1', title: 't', message: 'm', priority: 'stat' }],
    ['an array body', [1, 2]],
  ])('answers 400 bad_request for %s', async (_label, bad) => {
    const f = await startHttp(harness, {}, { enableTestNotifications: true });
    const res = await call(f.base, 'POST', '/v1/ws/test-notification', { as: 'u1', body: bad });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ success: false, error: { code: 'bad_request', message: expect.any(String) } });
  });

  it('answers 400 for a body that is not JSON, or none', async () => {
    const f = await startHttp(harness, {}, { enableTestNotifications: true });
    const broken = await call(f.base, 'POST', '/v1/ws/test-notification', { as: 'u1', rawBody: '{"user_id":' });
    expect(broken.status).toBe(400);
    expect(broken.json.error.code).toBe('bad_request');
    const empty = await call(f.base, 'POST', '/v1/ws/test-notification', { as: 'u1' });
    expect(empty.status).toBe(400);
  });

  it('answers 413 past maxBodyBytes, with or without a Content-Length', async () => {
    const f = await startHttp(harness, {}, { enableTestNotifications: true });
    const big = { ...body, message: 'x'.repeat(17_000) };
    const declared = await call(f.base, 'POST', '/v1/ws/test-notification', { as: 'u1', body: big });
    expect(declared.status).toBe(413);
    expect(declared.json.error.code).toBe('body_too_large');
    const streamed = await call(f.base, 'POST', '/v1/ws/test-notification', { as: 'u1', rawBody: streamOf(40_000) });
    expect(streamed.status).toBe(413);
    // The server keeps serving on the same port.
    expect((await call(f.base, 'POST', '/v1/ws/test-notification', { as: 'u1', body })).status).toBe(200);

    const small = await startHttp(harness, {}, { enableTestNotifications: true, maxBodyBytes: 64 });
    expect((await call(small.base, 'POST', '/v1/ws/test-notification', { as: 'u1', body })).status).toBe(200);
    const over = await call(small.base, 'POST', '/v1/ws/test-notification', {
      as: 'u1',
      body: { ...body, message: 'x'.repeat(64) },
    });
    expect(over.status).toBe(413);
  });

  it('refuses an unauthenticated body before reading it', async () => {
    const f = await startHttp(harness, {}, { enableTestNotifications: true });
    const res = await call(f.base, 'POST', '/v1/ws/test-notification', {
      body: { ...body, message: 'x'.repeat(17_000) },
    });
    expect(res.status).toBe(401);
  });

  it('answers 405 for GET', async () => {
    const f = await startHttp(harness, {}, { enableTestNotifications: true });
    const res = await call(f.base, 'GET', '/v1/ws/test-notification', { as: 'u1' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('/v1/notifications', () => {
  it('lists notifications published while the user was offline, newest first, with paging', async () => {
    const f = await startHttp(harness);
    await publishMany(f.hub, 'u1', 5);
    await publishMany(f.hub, 'u2', 2, 'other');
    const first = await call(f.base, 'GET', '/v1/notifications?limit=2', { as: 'u1' });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.json.success).toBe(true);
    expect(first.json.data.items.map((i: { id: string }) => i.id)).toEqual(['n-5', 'n-4']);
    expect(first.json.data.items[0]).toEqual({
      id: 'n-5',
      topic: 'user:u1',
      kind: 'custom',
      priority: 'routine',
      created_at: expect.any(String),
      epoch: expect.any(String),
      seq: 5,
      payload: { title: 't5' },
      phi: 'full',
      read_at: null,
      acknowledged_at: null,
    });
    expect(first.json.data.unread_count).toBe(5);
    const cursor = first.json.data.next_cursor as string;
    const second = await call(f.base, `GET`, `/v1/notifications?limit=2&cursor=${encodeURIComponent(cursor)}`, {
      as: 'u1',
    });
    expect(second.json.data.items.map((i: { id: string }) => i.id)).toEqual(['n-3', 'n-2']);
    const last = await call(
      f.base,
      'GET',
      `/v1/notifications?cursor=${encodeURIComponent(second.json.data.next_cursor)}`,
      { as: 'u1' },
    );
    expect(last.json.data.items.map((i: { id: string }) => i.id)).toEqual(['n-1']);
    expect(last.json.data.next_cursor).toBeNull();
  });

  it('defaults to 20 items and allows at most 100', async () => {
    const f = await startHttp(harness);
    await publishMany(f.hub, 'u1', 25);
    const page = await call(f.base, 'GET', '/v1/notifications', { as: 'u1' });
    expect(page.json.data.items).toHaveLength(20);
    expect((await call(f.base, 'GET', '/v1/notifications?limit=100', { as: 'u1' })).json.data.items).toHaveLength(25);
  });

  it.each(['limit=0', 'limit=101', 'limit=abc', 'limit=-1', 'limit=2.5', 'cursor=', 'cursor=not-a-cursor'])(
    'answers 400 bad_request for %s',
    async (query) => {
      const f = await startHttp(harness);
      await publishMany(f.hub, 'u1', 1);
      const res = await call(f.base, 'GET', `/v1/notifications?${query}`, { as: 'u1' });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('bad_request');
    },
  );

  it('answers 401 without credentials and 405 for other methods', async () => {
    const f = await startHttp(harness);
    expect((await call(f.base, 'GET', '/v1/notifications')).status).toBe(401);
    const post = await call(f.base, 'POST', '/v1/notifications', { as: 'u1', body: {} });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect((await call(f.base, 'GET', '/v1/notifications/n-1/read', { as: 'u1' })).status).toBe(405);
  });

  it('is not served when the hub has no inbox', async () => {
    const f = await startHttp(harness, { withInbox: false });
    expect((await call(f.base, 'GET', '/v1/notifications', { as: 'u1' })).status).toBe(404);
    expect((await call(f.base, 'POST', '/v1/notifications/x/read', { as: 'u1' })).status).toBe(404);
  });

  it('reduces payloads to the phiLevel the hub grants', async () => {
    const f = await startHttp(harness, { phiLevel: () => 'id-only' });
    await f.hub.notify.appointment('u1', {
      appointmentId: 'ap-1',
      status: 'confirmed',
      startsAt: '2026-12-01T09:00:00Z',
      location: 'PHI-MARKER clinic',
    });
    const res = await call(f.base, 'GET', '/v1/notifications', { as: 'u1' });
    expect(res.json.data.items[0]).toMatchObject({
      kind: 'appointment',
      phi: 'id-only',
      payload: { appointmentId: 'ap-1', status: 'confirmed' },
    });
    expect(res.text).not.toContain('PHI-MARKER');
  });

  it('answers 503 store_unavailable when the inbox store fails', async () => {
    const inbox = new MemoryInbox();
    inbox.list = () => {
      throw new Error('db down');
    };
    const logger = recordingLogger();
    const fixture = await harness.start({ inbox });
    const { createNodeHandler } = await import('@wardcast/server');
    const handler = createNodeHandler(fixture.hub, { logger });
    fixture.server.removeAllListeners('request');
    fixture.server.on('request', (req, res) => handler(req, res));
    const res = await call(`http://127.0.0.1:${fixture.port}`, 'GET', '/v1/notifications', { as: 'u1' });
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe('store_unavailable');
    expect(res.text).not.toContain('db down');
  });
});

describe('POST /v1/notifications/:id/read and /ack', () => {
  it('keeps unread_count exact across a read frame, an HTTP read of the same id, and repeats', async () => {
    const f = await startHttp(harness);
    await publishMany(f.hub, 'u1', 3);
    const client = await harness.connectAs(f, 'u1');
    const ref = nextRef();
    client.send({ type: 'read', id: 'n-2', ref });
    await client.nextFrame('receipt', (r) => r.ref === ref);
    const unread = async (): Promise<number> =>
      (await call(f.base, 'GET', '/v1/notifications', { as: 'u1' })).json.data.unread_count;
    expect(await unread()).toBe(2);
    const again = await call(f.base, 'POST', '/v1/notifications/n-2/read', { as: 'u1' });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ success: true, data: { id: 'n-2', action: 'read' } });
    expect(await unread()).toBe(2);
    expect((await call(f.base, 'POST', '/v1/notifications/n-2/read', { as: 'u1' })).status).toBe(200);
    expect(await unread()).toBe(2);
    expect((await call(f.base, 'POST', '/v1/notifications/n-3/read', { as: 'u1' })).status).toBe(200);
    expect(await unread()).toBe(1);
  });

  it('acknowledges over HTTP, emitting the ack event and audit record like the frame', async () => {
    const f = await startHttp(harness);
    const acks = harness.record(f, 'ack');
    const audit = harness.record(f, 'audit');
    await f.hub.publish('user:dr-lee', { id: 'lab:L1:final', kind: 'custom', priority: 'critical', payload: {} });
    const res = await call(f.base, 'POST', `/v1/notifications/${encodeURIComponent('lab:L1:final')}/ack`, {
      as: 'dr-lee',
    });
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual({ id: 'lab:L1:final', action: 'ack' });
    expect(acks).toEqual([{ sessionId: 'http', userId: 'dr-lee', remoteAddress: '127.0.0.1', id: 'lab:L1:final' }]);
    expect(audit).toEqual([
      expect.objectContaining({ type: 'notification.acknowledged', userId: 'dr-lee', notificationId: 'lab:L1:final' }),
    ]);
    const list = await call(f.base, 'GET', '/v1/notifications', { as: 'dr-lee' });
    expect(list.json.data.items[0]).toMatchObject({ read_at: expect.any(String), acknowledged_at: expect.any(String) });
    expect(list.json.data.unread_count).toBe(0);
  });

  it('stops an escalation when the recipient acknowledges over HTTP', async () => {
    const f = await startHttp(harness);
    const acknowledged = waitForEvent(f.hub, 'acknowledged', (e) => e.id === 'crit-1');
    await f.hub.publish('user:dr-lee', {
      id: 'crit-1',
      kind: 'custom',
      priority: 'critical',
      payload: {},
      escalation: {
        chain: [
          { userId: 'dr-lee', deadlineMs: 60_000 },
          { userId: 'dr-b', deadlineMs: 60_000 },
        ],
      },
    });
    const res = await call(f.base, 'POST', '/v1/notifications/crit-1/ack', { as: 'dr-lee' });
    expect(res.status).toBe(200);
    expect(await acknowledged).toMatchObject({ id: 'crit-1', userId: 'dr-lee' });
  });

  it("answers 404 for an unknown id or another user's notification, emitting nothing", async () => {
    const f = await startHttp(harness);
    const reads = harness.record(f, 'read');
    await publishMany(f.hub, 'victim', 1);
    const other = await call(f.base, 'POST', '/v1/notifications/n-1/read', { as: 'attacker' });
    expect(other.status).toBe(404);
    expect(other.json.error.code).toBe('not_found');
    expect((await call(f.base, 'POST', '/v1/notifications/missing/ack', { as: 'victim' })).status).toBe(404);
    expect(reads).toEqual([]);
    expect(f.inbox?.unreadCount('victim')).toBe(1);
  });

  it('answers 401, 403 (origin) and 400 (bad id) before touching the inbox', async () => {
    const f = await startHttp(harness, { allowedOrigins: ['https://portal.example.org'] });
    await publishMany(f.hub, 'u1', 1);
    expect((await call(f.base, 'POST', '/v1/notifications/n-1/read')).status).toBe(401);
    const cross = await call(f.base, 'POST', '/v1/notifications/n-1/read', {
      as: 'u1',
      headers: { origin: 'https://evil.example.com' },
    });
    expect(cross.status).toBe(403);
    const badId = await call(f.base, 'POST', `/v1/notifications/${'x'.repeat(129)}/read`, { as: 'u1' });
    expect(badId.status).toBe(400);
    const badEscape = await call(f.base, 'POST', '/v1/notifications/%E0%A4%A/read', { as: 'u1' });
    expect(badEscape.status).toBe(400);
    expect(f.inbox?.unreadCount('u1')).toBe(1);
  });
});

describe('logs and responses', () => {
  it('never contain tokens or payloads', async () => {
    const logger = recordingLogger();
    const f = await startHttp(
      harness,
      {
        logger,
        authenticate: ({ token }) => {
          const t = token ?? '';
          if (t.endsWith('throw')) throw new Error('authenticate failed');
          return t.startsWith(TOKEN_PREFIX) ? { userId: t.slice(TOKEN_PREFIX.length) } : null;
        },
      },
      { enableTestNotifications: true, logger },
    );
    const replies = [
      await call(f.base, 'POST', '/v1/ws/test-notification', {
        as: 'u1',
        body: { user_id: 'u1', title: 'PHI-MARKER', message: 'PHI-MARKER' },
      }),
      await call(f.base, 'POST', '/v1/ws/test-notification', {
        as: 'u1',
        body: { user_id: 'u1', title: 'PHI-MARKER', message: 'x'.repeat(20_000) },
      }),
      await call(f.base, 'POST', '/v1/ws/test-notification', {
        as: 'u1',
        body: { user_id: 'u1', title: 5, message: 'PHI-MARKER' },
      }),
      await call(f.base, 'POST', '/v1/ws/test-notification', {
        headers: { authorization: `Bearer ${TOKEN_PREFIX}throw` },
        body: { user_id: 'u1', title: 'PHI-MARKER', message: 'PHI-MARKER' },
      }),
      await call(f.base, 'GET', '/v1/notifications?cursor=PHI-MARKER', { as: 'u1' }),
      await call(f.base, 'GET', '/v1/ws/stats', { as: 'u1' }),
    ];
    expect(replies.map((r) => r.status)).toEqual([200, 413, 400, 401, 400, 200]);
    const everything = JSON.stringify(logger.lines) + replies.map((r) => r.text).join('\n');
    expect(everything).not.toContain(TOKEN_PREFIX);
    expect(everything).not.toContain(tokenFor('u1'));
    expect(everything).not.toContain('PHI-MARKER');
  });
});

describe('raw Node requests', () => {
  it('survives a client that aborts while sending the body', async () => {
    const f = await startHttp(harness, {}, { enableTestNotifications: true });
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${f.base}/v1/ws/test-notification`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokenFor('u1')}`, 'content-type': 'application/json' },
      });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write('{"user_id":"u1",');
      setTimeout(() => req.destroy(), 50);
    });
    expect((await call(f.base, 'GET', '/v1/ws/stats')).status).toBe(200);
  });
});
