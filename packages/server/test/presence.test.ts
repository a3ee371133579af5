import type { PresenceFrame } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';
import { nextRef, type TestClient } from './helpers/client.js';
import { eventually, type Fixture, useHarness } from './helpers/harness.js';

const harness = useHarness();
const P9 = 'patient:p9';

/** Everyone may view every patient in these tests. */
const openHub = () => harness.start({ authorize: () => true });

/** Connects `userId` and subscribes to `topic`, asking for presence frames unless `presence` is false. */
async function viewer(fx: Fixture, userId: string, topic = P9, presence = true): Promise<TestClient> {
  const client = await harness.connectAs(fx, userId);
  const ref = nextRef();
  client.send({ type: 'subscribe', ref, topics: [{ topic, ...(presence ? { presence: true } : {}) }] });
  const reply = await client.nextFrame('subscribed', (f) => f.ref === ref);
  expect(reply.topics[0]?.status).toBe('ok');
  if (presence) await client.nextFrame('presence', (f) => f.topic === topic && f.members !== undefined);
  return client;
}

/** The presence frames a client received on `topic` after its member list, without `type`/`topic`. */
function changes(client: TestClient, topic = P9): Omit<PresenceFrame, 'type' | 'topic'>[] {
  return client
    .framesOf('presence')
    .filter((f) => f.topic === topic && f.members === undefined)
    .map(({ type: _type, topic: _topic, ...rest }) => rest);
}

describe('presence frames', () => {
  it('lets two clinicians on patient:p9 see each other join and leave', async () => {
    const fx = await openHub();
    const lee = await viewer(fx, 'dr-lee');
    expect(lee.framesOf('presence')).toEqual([{ type: 'presence', topic: P9, members: ['dr-lee'] }]);

    const kim = await viewer(fx, 'nurse-kim');
    expect(kim.framesOf('presence')).toEqual([{ type: 'presence', topic: P9, members: ['dr-lee', 'nurse-kim'] }]);
    expect(await lee.nextFrame('presence', (f) => f.joined !== undefined)).toEqual({
      type: 'presence',
      topic: P9,
      joined: ['nurse-kim'],
    });

    const ref = nextRef();
    kim.send({ type: 'unsubscribe', ref, topics: [P9] });
    await kim.nextFrame('unsubscribed', (f) => f.ref === ref);
    expect(await lee.nextFrame('presence', (f) => f.left !== undefined)).toEqual({
      type: 'presence',
      topic: P9,
      left: ['nurse-kim'],
    });
    expect(fx.hub.presence(P9)).toEqual(['dr-lee']);
  });

  it('sends the member list right after the subscribed reply', async () => {
    const fx = await openHub();
    await viewer(fx, 'dr-lee');
    const kim = await viewer(fx, 'nurse-kim');

    const types = kim.frames.map((f) => f.type);

    expect(types.slice(types.indexOf('subscribed'))).toEqual(['subscribed', 'presence']);
  });

  it('does not announce a second tab of the same user, nor its leaving while the first stays', async () => {
    const fx = await openHub();
    const lee = await viewer(fx, 'dr-lee');
    const kim1 = await viewer(fx, 'nurse-kim');
    await lee.nextFrame('presence', (f) => f.joined !== undefined);

    const kim2 = await viewer(fx, 'nurse-kim');
    expect(kim2.framesOf('presence')).toEqual([{ type: 'presence', topic: P9, members: ['dr-lee', 'nurse-kim'] }]);
    kim2.ws.close();
    await eventually(() => fx.hub.stats().connections === 2, 'the second tab was freed');
    await lee.roundTrip();

    expect(changes(lee)).toEqual([{ joined: ['nurse-kim'] }]);
    expect(fx.hub.presence(P9)).toEqual(['dr-lee', 'nurse-kim']);

    kim1.ws.close();
    await lee.nextFrame('presence', (f) => f.left !== undefined);
    expect(changes(lee)).toEqual([{ joined: ['nurse-kim'] }, { left: ['nurse-kim'] }]);
    expect(fx.hub.presence(P9)).toEqual(['dr-lee']);
  });

  it('announces a user who disconnects without unsubscribing as left', async () => {
    const fx = await openHub();
    const lee = await viewer(fx, 'dr-lee');
    const kim = await viewer(fx, 'nurse-kim');

    kim.terminate();

    expect(await lee.nextFrame('presence', (f) => f.left !== undefined)).toMatchObject({ left: ['nurse-kim'] });
    expect(fx.hub.presence(P9)).toEqual(['dr-lee']);
  });

  it('sends presence frames only to subscribers that asked for them, and only for that topic', async () => {
    const fx = await openHub();
    const quiet = await viewer(fx, 'dr-quiet', P9, false);
    const lee = await viewer(fx, 'dr-lee');
    const otherPatient = await viewer(fx, 'dr-other', 'patient:p10');
    await viewer(fx, 'nurse-kim');
    await lee.nextFrame('presence', (f) => f.joined?.[0] === 'nurse-kim');

    await Promise.all([quiet.roundTrip(), otherPatient.roundTrip()]);

    expect(quiet.framesOf('presence')).toEqual([]);
    expect(otherPatient.framesOf('presence')).toEqual([
      { type: 'presence', topic: 'patient:p10', members: ['dr-other'] },
    ]);
    // The quiet subscriber is still a member that others see.
    expect(lee.framesOf('presence')[0]).toEqual({ type: 'presence', topic: P9, members: ['dr-lee', 'dr-quiet'] });
  });

  it('stops presence frames after a re-subscribe without presence', async () => {
    const fx = await openHub();
    const lee = await viewer(fx, 'dr-lee');
    const ref = nextRef();
    lee.send({ type: 'subscribe', ref, topics: [{ topic: P9 }] });
    await lee.nextFrame('subscribed', (f) => f.ref === ref);

    await viewer(fx, 'nurse-kim');
    await lee.roundTrip();

    expect(changes(lee)).toEqual([]);
  });

  it('gives no presence for a denied topic', async () => {
    const fx = await harness.start({ authorize: (p, topic) => topic !== P9 || p.userId === 'dr-lee' });
    const intruder = await harness.connectAs(fx, 'mallory');
    const ref = nextRef();
    await viewer(fx, 'dr-lee');

    intruder.send({ type: 'subscribe', ref, topics: [{ topic: P9, presence: true }] });
    const reply = await intruder.nextFrame('subscribed', (f) => f.ref === ref);
    await intruder.roundTrip();

    expect(reply.topics[0]?.status).toBe('denied');
    expect(intruder.framesOf('presence')).toEqual([]);
    expect(fx.hub.presence(P9)).toEqual(['dr-lee']);
  });

  it('carries user ids, never tokens', async () => {
    const fx = await openHub();
    const lee = await viewer(fx, 'dr-lee');
    await viewer(fx, 'nurse-kim');
    await lee.nextFrame('presence', (f) => f.joined !== undefined);

    expect(lee.raw.filter((t) => t.includes('"presence"')).join('\n')).not.toContain('tok_SECRET_');
  });
});

describe('presence at shutdown', () => {
  it('sends no leave frames while the hub closes every connection, but still emits the events', async () => {
    const fx = await openHub();
    const seen = harness.record(fx, 'presence');
    const clients = [await viewer(fx, 'a'), await viewer(fx, 'b'), await viewer(fx, 'c')];
    const counts = () => clients.map((c) => c.framesOf('presence').length);
    await eventually(() => counts().join() === '3,2,1', 'every join arrived');
    const before = counts();

    await fx.hub.close();
    await Promise.all(clients.map((c) => c.waitClose()));

    expect(clients.map((c) => c.framesOf('presence').length)).toEqual(before);
    expect(seen.filter((e) => e.left !== undefined).map((e) => e.left)).toEqual(['a', 'b', 'c']);
  });
});

describe('hub.presence(topic)', () => {
  it('lists distinct users, whether or not they asked for presence, and forgets them when they leave', async () => {
    const fx = await openHub();
    expect(fx.hub.presence(P9)).toEqual([]);

    const clients = [
      await viewer(fx, 'nurse-kim', P9, false),
      await viewer(fx, 'dr-lee'),
      await viewer(fx, 'dr-lee', P9, false),
      await viewer(fx, 'dr-other', 'patient:p10'),
    ];

    expect(fx.hub.presence(P9)).toEqual(['dr-lee', 'nurse-kim']);
    expect(fx.hub.presence('patient:p10')).toEqual(['dr-other']);

    for (const c of clients) c.ws.close();
    await eventually(() => fx.hub.stats().connections === 0, 'every connection was freed');

    expect(fx.hub.presence(P9)).toEqual([]);
    expect(fx.hub.presence('patient:p10')).toEqual([]);
  });

  it('matches the member list every watcher holds after joins and leaves', async () => {
    const fx = await openHub();
    const lee = await viewer(fx, 'dr-lee');
    const others = [await viewer(fx, 'a'), await viewer(fx, 'b', P9, false), await viewer(fx, 'c')];
    others[1]?.ws.close();
    await lee.nextFrame('presence', (f) => f.left?.[0] === 'b');

    const members = new Set<string>();
    for (const f of lee.framesOf('presence')) {
      for (const u of f.members ?? []) members.add(u);
      for (const u of f.joined ?? []) members.add(u);
      for (const u of f.left ?? []) members.delete(u);
    }

    expect([...members].sort()).toEqual(fx.hub.presence(P9));
    expect(fx.hub.presence(P9)).toEqual(['a', 'c', 'dr-lee']);
  });
});

describe('presence events', () => {
  it("emits 'presence' with joined and left user ids", async () => {
    const fx = await openHub();
    const seen = harness.record(fx, 'presence');

    const lee = await viewer(fx, 'dr-lee', P9, false);
    await viewer(fx, 'dr-lee', P9, false);
    lee.ws.close();
    await eventually(() => fx.hub.stats().connections === 1, 'the first tab was freed');
    fx.hub.disconnectUser('dr-lee');
    await eventually(() => seen.length === 2, 'the leave was emitted');

    expect(seen).toEqual([
      { topic: P9, joined: 'dr-lee' },
      { topic: P9, left: 'dr-lee' },
    ]);
  });
});
