import { describe, expect, it } from 'vitest';
import { eventually, record, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

const labResult = {
  kind: 'lab_result',
  priority: 'urgent',
  payload: {
    labOrderId: 'L-9',
    testName: 'HIV-1 RNA viral load',
    status: 'final',
    abnormal: true,
    critical: false,
    resultAt: '2030-01-01T09:00:00Z',
  },
} as const;

describe('the phi option', () => {
  it('asks for a reduced PHI level on every topic, and the hub sends no more than that', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url, topics: ['user:u1'], phi: 'id-only' });
    const log = record(client);
    await eventually(() => server.events.subscribe.length === 1, 'the client subscribed');
    await server.hub.publish('user:u1', labResult);
    await eventually(() => log.notifications.length === 1, 'the notification arrived');
    expect(log.notifications[0]).toMatchObject({ phi: 'id-only', payload: { labOrderId: 'L-9', status: 'final' } });
    expect(JSON.stringify(log.notifications[0])).not.toContain('HIV');
  });

  it('cannot raise the level above the hub policy', async () => {
    const server = await f.hub({ phiLevel: () => 'empty' });
    const client = f.client({ url: server.url, topics: ['user:u1'], phi: 'full' });
    const log = record(client);
    await eventually(() => server.events.subscribe.length === 1, 'the client subscribed');
    await server.hub.publish('user:u1', labResult);
    await eventually(() => log.notifications.length === 1, 'the notification arrived');
    expect(log.notifications[0]).toMatchObject({ phi: 'empty', payload: null });
  });
});
