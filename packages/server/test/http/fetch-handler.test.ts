import { createFetchHandler, MemoryInbox, NotificationHub, type Principal } from '@wardcast/server';
import { afterEach, describe, expect, it } from 'vitest';
import { principalOf, testAuthenticate, tokenFor } from '../helpers/harness.js';
import { streamOf } from './fixture.js';

const hubs: NotificationHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

function hubWith(inbox: MemoryInbox | undefined = new MemoryInbox()): NotificationHub {
  const hub = new NotificationHub({ authenticate: testAuthenticate, ...(inbox ? { inbox } : {}) });
  hubs.push(hub);
  return hub;
}

function req(path: string, init: RequestInit & { as?: string; json?: unknown; duplex?: 'half' } = {}): Request {
  const { as, json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (as !== undefined) headers.set('authorization', `Bearer ${tokenFor(as)}`);
  if (json !== undefined) headers.set('content-type', 'application/json');
  return new Request(`http://localhost${path}`, {
    ...rest,
    headers,
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
}

describe('createFetchHandler', () => {
  it('answers stats with a Request and a Response, no server needed', async () => {
    const handler = createFetchHandler(hubWith());
    const res = await handler(req('/v1/ws/stats'));
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toMatchObject({ success: true, data: { connected_clients: 0, status: 'active' } });
  });

  it('answers 404 JSON for paths it does not own and for the disabled test endpoint', async () => {
    const handler = createFetchHandler(hubWith());
    for (const path of ['/elsewhere', '/v1/ws/test-notification']) {
      const res = await handler(
        req(path, { method: 'POST', as: 'u1', json: { user_id: 'u1', title: 't', message: 'm' } }),
      );
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ success: false, error: { code: 'not_found' } });
    }
  });

  it('sends a test notification into the inbox, then reads and acks it', async () => {
    const hub = hubWith();
    const handler = createFetchHandler(hub, { enableTestNotifications: true });
    const sent = await handler(
      req('/v1/ws/test-notification', {
        method: 'POST',
        as: 'u1',
        json: { user_id: 'u1', title: 'Hi', message: 'there' },
      }),
    );
    expect(sent.status).toBe(200);
    const { data } = (await sent.json()) as { data: { id: string; topic: string } };
    expect(data.topic).toBe('user:u1');
    const list = await handler(req('/v1/notifications', { as: 'u1' }));
    const page = (await list.json()) as { data: { items: { id: string; payload: unknown }[]; unread_count: number } };
    expect(page.data.items).toMatchObject([{ id: data.id, payload: { title: 'Hi', message: 'there' } }]);
    expect(page.data.unread_count).toBe(1);
    const read = await handler(req(`/v1/notifications/${data.id}/read`, { method: 'POST', as: 'u1' }));
    expect(read.status).toBe(200);
    const ack = await handler(req(`/v1/notifications/${data.id}/ack`, { method: 'POST', as: 'u1' }));
    expect(ack.status).toBe(200);
    const after = (await (await handler(req('/v1/notifications', { as: 'u1' }))).json()) as {
      data: { unread_count: number; items: { acknowledged_at: string | null }[] };
    };
    expect(after.data.unread_count).toBe(0);
    expect(after.data.items[0]?.acknowledged_at).toEqual(expect.any(String));
  });

  it('covers 400, 401, 403, 405 and 413', async () => {
    const handler = createFetchHandler(hubWith(), { enableTestNotifications: true, maxBodyBytes: 1_024 });
    const body = { user_id: 'u1', title: 't', message: 'm' };
    const post = (init: Parameters<typeof req>[1]) =>
      handler(req('/v1/ws/test-notification', { method: 'POST', ...init }));
    expect((await post({ json: body })).status).toBe(401);
    expect((await post({ as: 'u2', json: body })).status).toBe(403);
    expect((await post({ as: 'u1', json: { ...body, title: 42 } })).status).toBe(400);
    expect((await post({ as: 'u1', body: 'not json' })).status).toBe(400);
    expect((await post({ as: 'u1', json: { ...body, message: 'x'.repeat(2_000) } })).status).toBe(413);
    const streamed = await post({ as: 'u1', body: streamOf(5_000, 100), duplex: 'half' });
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ error: { code: 'body_too_large' } });
    const wrong = await handler(req('/v1/ws/test-notification', { method: 'PUT', as: 'u1' }));
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('passes the bearer token and the headers to the hub authenticate', async () => {
    const seen: { token: string | undefined; cookie: unknown; reauthenticate: boolean }[] = [];
    const hub = new NotificationHub({
      authenticate: ({ request, token, reauthenticate }) => {
        seen.push({ token, cookie: request.headers.cookie, reauthenticate });
        return token
          ? principalOf(token)
          : request.headers.cookie === 'sid=ok'
            ? ({ userId: 'c1' } as Principal)
            : null;
      },
      inbox: new MemoryInbox(),
    });
    hubs.push(hub);
    const handler = createFetchHandler(hub);
    expect((await handler(req('/v1/notifications', { as: 'u1' }))).status).toBe(200);
    expect((await handler(req('/v1/notifications', { headers: { cookie: 'sid=ok' } }))).status).toBe(200);
    expect(seen).toEqual([
      { token: tokenFor('u1'), cookie: undefined, reauthenticate: false },
      { token: undefined, cookie: 'sid=ok', reauthenticate: false },
    ]);
  });

  it('serves under a basePath', async () => {
    const handler = createFetchHandler(hubWith(), { basePath: '/api/wardcast/' });
    expect((await handler(req('/api/wardcast/v1/ws/stats'))).status).toBe(200);
    expect((await handler(req('/v1/ws/stats'))).status).toBe(404);
    expect(() => createFetchHandler(hubWith(), { basePath: 'api' })).toThrow(/basePath/);
    expect(() => createFetchHandler(hubWith(), { maxBodyBytes: 0 })).toThrow(/maxBodyBytes/);
  });

  it('answers 503 once the hub is closed', async () => {
    const hub = hubWith();
    const handler = createFetchHandler(hub, { enableTestNotifications: true });
    await hub.close();
    const res = await handler(
      req('/v1/ws/test-notification', { method: 'POST', as: 'u1', json: { user_id: 'u1', title: 't', message: 'm' } }),
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'hub_closed' } });
    const stats = (await (await handler(req('/v1/ws/stats'))).json()) as { data: { status: string } };
    expect(stats.data.status).toBe('closed');
  });
});
