import { NotificationClient } from '@wardcast/client';
import { createSharedNotificationClient } from '@wardcast/client/shared';
import { describe, expect, it } from 'vitest';
import { custom, eventually, FAST, record, tokenFor, useFixtures, WS } from './helpers/fixtures.js';

const f = useFixtures();

/** Node has no Web Locks: the shared client is a plain client with its own socket. */
describe('createSharedNotificationClient without Web Locks or BroadcastChannel', () => {
  it('falls back to its own socket and behaves as createNotificationClient', async () => {
    const server = await f.hub();
    const client = createSharedNotificationClient({
      url: server.url,
      token: tokenFor('u1'),
      userId: 'u1',
      WebSocket: WS,
      topics: ['user:u1'],
      ...FAST,
    });
    f.defer(() => client.close());
    const log = record(client);
    expect(client.shared).toBe(false);
    expect(client).toBeInstanceOf(NotificationClient);
    await eventually(() => client.status.state === 'open', 'open');
    // `open` comes with auth_ok, before the hub has handled the subscribe frame sent after it.
    await eventually(() => server.events.subscribe.length === 1, 'subscribed');
    await server.hub.publish('user:u1', custom('n1'));
    await eventually(() => log.notifications.length === 1, 'the notification');
    client.markRead('n1');
    await eventually(() => log.receipts.length === 1, 'the receipt');
    expect(log.errors).toEqual([]);
    expect(client.topics).toEqual(['user:u1']);
    client.close();
    expect(client.status.state).toBe('closed');
  });

  it('says so when sharing is asked for without a userId (it cannot share safely)', async () => {
    const server = await f.hub();
    const client = createSharedNotificationClient({ url: server.url, token: tokenFor('u1'), WebSocket: WS, ...FAST });
    f.defer(() => client.close());
    const log = record(client);
    await eventually(() => log.errors.length === 1, 'the error');
    expect(log.errors[0]?.code).toBe('invalid_option');
    expect(client.shared).toBe(false);
    await eventually(() => client.status.state === 'open', 'open anyway, unshared');
  });

  it('does not complain with shareAcrossTabs: false', async () => {
    const server = await f.hub();
    const client = createSharedNotificationClient({
      url: server.url,
      token: tokenFor('u1'),
      WebSocket: WS,
      shareAcrossTabs: false,
      ...FAST,
    });
    f.defer(() => client.close());
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'open');
    expect(log.errors).toEqual([]);
  });
});
