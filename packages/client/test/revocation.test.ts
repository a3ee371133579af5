import type { ClientEvents } from '@wardcast/client';
import type { Principal } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { custom, eventually, record, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

/** Own `user:` topic, and the `patient:` topics of the user's care teams (changed by the tests). */
function careTeams(teams: Record<string, string[]>) {
  return (p: Principal, topic: string): boolean =>
    topic === `user:${p.userId}` || (teams[topic]?.includes(p.userId) ?? false);
}

describe('subscriptions the hub revokes', () => {
  it("emits 'revoked', drops the topic and never subscribes to it again after a reconnect", async () => {
    const teams = { 'patient:p1': ['u1'], 'patient:p2': ['u1'] };
    const server = await f.hub({ authorize: careTeams(teams), reauthorizeIntervalMs: 1_000 });
    const client = f.client({ url: server.url, topics: ['user:u1', 'patient:p1', 'patient:p2'] });
    const log = record(client);
    const revoked: ClientEvents['revoked'][0][] = [];
    const denied: ClientEvents['denied'][0][] = [];
    client.on('revoked', (r) => revoked.push(r));
    client.on('denied', (d) => denied.push(d));
    await eventually(() => server.events.subscribe.length === 3, 'the client subscribed to all three');

    teams['patient:p1'] = [];
    await eventually(() => revoked.length === 1, 'the hub revoked patient:p1', 10_000);
    const subscribesBefore = server.events.subscribe.length;
    server.dropConnections();
    await eventually(
      () => server.events.subscribe.length === subscribesBefore + 2,
      'the client resubscribed after reconnecting',
      10_000,
    );
    await server.hub.publish('patient:p2', custom('p2-1'));
    await eventually(() => log.notifications.some((n) => n.id === 'p2-1'), 'the kept topic still delivers');
    console.log(
      `[client] revoked ${JSON.stringify(revoked)}; after a reconnect it asked for ${server.events.subscribe
        .slice(subscribesBefore)
        .map((e) => e.topic)
        .join(', ')}`,
    );

    expect(revoked).toEqual([{ topic: 'patient:p1', code: 'topic_denied' }]);
    expect(client.topics).toEqual(['user:u1', 'patient:p2']);
    expect(
      server.events.subscribe
        .slice(subscribesBefore)
        .map((e) => e.topic)
        .sort(),
    ).toEqual(['patient:p2', 'user:u1']);
    expect(denied).toEqual([]);
    expect(server.events.denied).toEqual([]);
  });

  it('does not treat the reply to its own unsubscribe as a revocation', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url, topics: ['user:u1'] });
    const revoked: ClientEvents['revoked'][0][] = [];
    client.on('revoked', (r) => revoked.push(r));
    await eventually(() => server.events.subscribe.length === 1, 'the client subscribed');

    client.unsubscribe('user:u1');
    await eventually(() => server.events.unsubscribe.length === 1, 'the hub removed it');
    client.subscribe('user:u1');
    await eventually(() => server.events.subscribe.length === 2, 'the client subscribed again');

    expect(revoked).toEqual([]);
    expect(client.topics).toEqual(['user:u1']);
  });
});

describe('acks and reads the hub refuses', () => {
  it("drops an ack of an id the user was never sent, emits 'refused', and never resends it", async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url, topics: ['user:u1'] });
    const log = record(client);
    const refused: ClientEvents['refused'][0][] = [];
    client.on('refused', (r) => refused.push(r));
    await eventually(() => server.events.subscribe.length === 1, 'the client subscribed');
    await server.hub.publish('user:u1', custom('n-1'));
    await eventually(() => log.notifications.length === 1, 'the client got n-1');

    client.ack('forged-1');
    client.markRead('forged-2');
    client.ack('n-1');
    await eventually(() => client.pendingReceipts === 0, 'every receipt was answered');
    const connects = server.events.authenticated.length;
    server.dropConnections();
    await eventually(() => server.events.subscribe.length === 2, 'the client reconnected and resubscribed', 10_000);
    // Frames of a connection are answered in order: once an ack sent now is confirmed, anything
    // resent from the queue at the reconnect would have been answered too.
    await server.hub.publish('user:u1', custom('n-2'));
    await eventually(() => log.notifications.length === 2, 'the client got n-2');
    client.ack('n-2');
    await eventually(() => log.receipts.length === 2, 'the hub confirmed n-2');
    console.log(
      `[client] refused ${JSON.stringify(refused)}; acks the hub recorded: ${server.events.ack.map((e) => e.id)}`,
    );

    expect(refused).toEqual([
      { id: 'forged-1', action: 'ack' },
      { id: 'forged-2', action: 'read' },
    ]);
    expect(log.receipts).toEqual([
      { id: 'n-1', action: 'ack' },
      { id: 'n-2', action: 'ack' },
    ]);
    expect(log.errors.map((e) => e.code)).toEqual(['unknown_notification', 'unknown_notification']);
    expect(server.events.ack.map((e) => e.id)).toEqual(['n-1', 'n-2']);
    expect(server.events.read).toEqual([]);
    expect(server.events.authenticated.length).toBeGreaterThan(connects);
  });
});
