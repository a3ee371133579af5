import type { ClientOptions, NotificationClient, PresenceEvent, TelemetryFrame } from '@wardcast/client';
import { describe, expect, it } from 'vitest';
import { eventually, type HubFixture, sleep, tokenFor, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();
const P9 = 'patient:p9';

/** A hub on which everyone may view every patient, with fast telemetry. */
const openHub = () => f.hub({ authorize: () => true, telemetryIntervalMs: 100 });

function viewer(server: HubFixture, userId: string, extra: Partial<ClientOptions> = {}) {
  return f.client({ url: server.url, token: tokenFor(userId), presence: [P9], ...extra });
}

/** Every `presence` event of a client. */
function presenceLog(client: NotificationClient): PresenceEvent[] {
  const log: PresenceEvent[] = [];
  client.on('presence', (e) => log.push(e));
  return log;
}

const membersOf = (client: NotificationClient, topic = P9) => client.presence[topic];

describe('presence', () => {
  it('shows two clinicians on patient:p9 each other joining and leaving', async () => {
    const server = await openHub();
    const lee = viewer(server, 'dr-lee');
    const leeLog = presenceLog(lee);
    await eventually(() => membersOf(lee)?.length === 1, 'dr-lee has the member list');
    expect(membersOf(lee)).toEqual(['dr-lee']);

    const kim = viewer(server, 'nurse-kim');
    await eventually(() => membersOf(kim)?.length === 2, 'nurse-kim has the member list');
    await eventually(() => membersOf(lee)?.length === 2, 'dr-lee saw nurse-kim join');
    expect(membersOf(kim)).toEqual(['dr-lee', 'nurse-kim']);
    expect(membersOf(lee)).toEqual(['dr-lee', 'nurse-kim']);
    expect(server.hub.presence(P9)).toEqual(['dr-lee', 'nurse-kim']);

    kim.close();
    await eventually(() => membersOf(lee)?.length === 1, 'dr-lee saw nurse-kim leave');
    expect(leeLog.map((e) => e.members)).toEqual([['dr-lee'], ['dr-lee', 'nurse-kim'], ['dr-lee']]);
    expect(leeLog.every((e) => e.topic === P9)).toBe(true);
  });

  it('subscribes presence topics even when they are not in topics', async () => {
    const server = await openHub();
    const lee = viewer(server, 'dr-lee', { topics: ['user:dr-lee'] });
    await eventually(() => membersOf(lee) !== undefined, 'dr-lee has the member list');

    expect([...lee.topics].sort()).toEqual([P9, 'user:dr-lee']);
    expect(server.hub.presence('user:dr-lee')).toEqual(['dr-lee']);
  });

  it('turns presence on and off for a subscribed topic with subscribe(topic, { presence })', async () => {
    const server = await openHub();
    const lee = f.client({ url: server.url, token: tokenFor('dr-lee'), topics: [P9] });
    await eventually(() => server.events.subscribe.length === 1, 'dr-lee subscribed');
    expect(lee.presence).toEqual({});

    lee.subscribe(P9, { presence: true });
    await eventually(() => membersOf(lee) !== undefined, 'dr-lee has the member list');
    expect(membersOf(lee)).toEqual(['dr-lee']);

    lee.subscribe(P9, { presence: false });
    expect(lee.presence).toEqual({});
    await eventually(() => server.events.subscribe.length === 3, 'dr-lee re-subscribed without presence');
    const kim = viewer(server, 'nurse-kim');
    await eventually(() => membersOf(kim)?.length === 2, 'nurse-kim joined');
    await sleep(100);

    expect(lee.presence).toEqual({});
    expect(lee.topics).toEqual([P9]);
    expect(server.events.disconnect).toEqual([]);
  });

  it('forgets the member list of a topic it unsubscribes from', async () => {
    const server = await openHub();
    const lee = viewer(server, 'dr-lee');
    await eventually(() => membersOf(lee) !== undefined, 'dr-lee has the member list');

    lee.unsubscribe(P9);
    await eventually(() => server.hub.presence(P9).length === 0, 'the hub forgot dr-lee');

    expect(lee.presence).toEqual({});
  });

  it('replaces the member list after a reconnect with the one the hub sends', async () => {
    const server = await openHub();
    const lee = viewer(server, 'dr-lee');
    const kim = viewer(server, 'nurse-kim');
    await eventually(() => membersOf(lee)?.length === 2, 'dr-lee saw nurse-kim');

    server.dropConnections();
    kim.close();
    await eventually(() => server.events.authenticated.length >= 3, 'dr-lee reconnected');
    await eventually(() => membersOf(lee)?.length === 1, 'the new list arrived');

    expect(membersOf(lee)).toEqual(['dr-lee']);
  });
});

describe('telemetry', () => {
  it('asks for telemetry on every (re)connect with the telemetry option', async () => {
    const server = await openHub();
    const client = f.client({ url: server.url, topics: ['user:u1'], telemetry: true });
    const frames: TelemetryFrame[] = [];
    client.on('telemetry', (t) => frames.push(t));
    await eventually(() => frames.length >= 2, 'two telemetry frames arrived');

    expect(client.telemetry).toBe(frames.at(-1));
    expect(client.telemetry).toMatchObject({ type: 'telemetry', connections: 1, broker: 'ok' });
    expect(typeof client.telemetry?.eventLoopLagMs).toBe('number');

    server.dropConnections();
    await eventually(() => server.events.authenticated.length === 2, 'the client reconnected');
    const before = frames.length;
    await eventually(() => frames.length >= before + 2, 'telemetry resumed after the reconnect');
  });

  it('gets no telemetry without the option', async () => {
    const server = await openHub();
    const client = f.client({ url: server.url, topics: ['user:u1'] });
    const frames: TelemetryFrame[] = [];
    client.on('telemetry', (t) => frames.push(t));
    await eventually(() => server.events.subscribe.length === 1, 'the client subscribed');

    await sleep(350);

    expect(frames).toEqual([]);
    expect(client.telemetry).toBeUndefined();
  });
});
