import { CloseCode } from '@wardcast/client';
import { SseSocket } from '@wardcast/client/sse';
import { describe, expect, it } from 'vitest';
import { custom, eventually, type HubFixture, record, useFixtures } from './helpers/fixtures.js';
import { serveHttp } from './helpers/sse.js';

const f = useFixtures();

/** The same client behaviours over each transport, pinned with `transports`. */
describe.each(['websocket', 'sse'] as const)('over %s', (transport) => {
  async function hub(): Promise<HubFixture> {
    const fixture = await f.hub();
    serveHttp(fixture);
    return fixture;
  }
  const client = (fixture: HubFixture, topics = ['user:u1']) =>
    f.client({ url: fixture.url, topics, SSE: SseSocket, transports: [transport] });

  it('connects and authenticates', async () => {
    const fixture = await hub();
    let upgrades = 0;
    fixture.server.prependListener('upgrade', () => upgrades++);
    const c = client(fixture);
    await eventually(() => c.status.state === 'open', 'the client is open');
    expect(c.status).toMatchObject({ state: 'open', userId: 'u1' });
    expect(fixture.events.authenticated).toHaveLength(1);
    // Really over the transport under test.
    expect(upgrades).toBe(transport === 'websocket' ? 1 : 0);
  });

  it('subscribes and receives in order', async () => {
    const fixture = await hub();
    const c = client(fixture);
    const log = record(c);
    await eventually(() => fixture.events.subscribe.length === 1, 'the client subscribed');
    for (const id of ['n1', 'n2', 'n3']) await fixture.hub.publish('user:u1', custom(id));
    await eventually(() => log.notifications.length === 3, 'three notifications arrived');
    expect(log.notifications.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
  });

  it('sends acks and reads and gets the receipts', async () => {
    const fixture = await hub();
    const c = client(fixture);
    const log = record(c);
    await eventually(() => fixture.events.subscribe.length === 1, 'the client subscribed');
    await fixture.hub.publish('user:u1', custom('n1'));
    await eventually(() => log.notifications.length === 1, 'n1 arrived');
    c.ack('n1');
    c.markRead('n1');
    await eventually(() => log.receipts.length === 2, 'both receipts came back');
    expect(fixture.events.ack.map((e) => e.id)).toEqual(['n1']);
    expect(fixture.events.read.map((e) => e.id)).toEqual(['n1']);
    expect(c.pendingReceipts).toBe(0);
  });

  it('resumes after a dropped connection, without loss or duplicates', async () => {
    const fixture = await hub();
    const c = client(fixture);
    const log = record(c);
    await eventually(() => fixture.events.subscribe.length === 1, 'the client subscribed');
    await fixture.hub.publish('user:u1', custom('n1'));
    await eventually(() => log.notifications.length === 1, 'n1 arrived');
    fixture.dropConnections();
    await fixture.hub.publish('user:u1', custom('n2'));
    await eventually(() => fixture.events.subscribe.length === 2, 'the client resubscribed');
    expect(fixture.events.subscribe[1]).toMatchObject({ topic: 'user:u1', recovered: true });
    await fixture.hub.publish('user:u1', custom('n3'));
    await eventually(() => log.notifications.length === 3, 'n2 and n3 arrived');
    expect(log.notifications.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    expect(log.gaps).toEqual([]);
  });

  it('gets the close code of a hub-side close (4410 session revoked)', async () => {
    const fixture = await hub();
    const c = client(fixture);
    const log = record(c);
    await eventually(() => c.status.state === 'open', 'the client is open');
    expect(fixture.hub.disconnectUser('u1', 'logged out')).toBe(1);
    await eventually(
      () =>
        log.statuses.some(
          (s) =>
            (s.state === 'closed' && s.reason.code === CloseCode.SessionRevoked) ||
            (s.state === 'reconnecting' && s.lastClose.code === CloseCode.SessionRevoked),
        ),
      'the client saw 4410',
    );
    const last = log.statuses.find((s) => s.state === 'closed' || s.state === 'reconnecting');
    expect(last).toMatchObject(
      last?.state === 'closed' ? { reason: { reason: 'logged out' } } : { lastClose: { reason: 'logged out' } },
    );
  });
});
