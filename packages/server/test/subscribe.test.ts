import type { Principal } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { useHarness } from './helpers/harness.js';

const harness = useHarness();

const careTeamAuthorize = (principal: Principal, topic: string): boolean => {
  if (topic === `user:${principal.userId}`) return true;
  return topic.startsWith('patient:') && principal.userId.startsWith('dr-');
};

describe('default authorize', () => {
  it("accepts a subscription to the user's own topic, reporting the topic's current position", async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    const [result] = await client.subscribe(['user:alice']);

    expect(result).toMatchObject({ topic: 'user:alice', status: 'ok', recovered: false, position: { seq: 0 } });
    expect(result?.position?.epoch).toEqual(expect.any(String));
    expect(fx.hub.stats().subscriptions).toBe(1);
  });

  it("denies a subscription to another user's topic with topic_denied", async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    const [result] = await client.subscribe(['user:bob']);

    expect(result).toEqual({ topic: 'user:bob', status: 'denied', recovered: false, code: 'topic_denied' });
    expect(fx.hub.stats().subscriptions).toBe(0);
  });

  it('denies a patient topic', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    const [result] = await client.subscribe(['patient:p1']);

    expect(result).toMatchObject({ status: 'denied', code: 'topic_denied' });
  });

  it('answers each topic of a mixed subscribe frame in request order', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    const results = await client.subscribe(['user:bob', 'user:alice', 'broadcast']);

    expect(results.map((r) => [r.topic, r.status])).toEqual([
      ['user:bob', 'denied'],
      ['user:alice', 'ok'],
      ['broadcast', 'denied'],
    ]);
  });

  it('delivers nothing on a topic that was denied', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');
    await client.subscribe(['user:bob', 'user:alice']);

    await fx.hub.publish('user:bob', { kind: 'custom', id: 'for-bob' });
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'sentinel' });
    await client.notification('sentinel');

    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['sentinel']);
  });
});

describe('custom authorize', () => {
  it('accepts a patient topic that authorize allows', async () => {
    const fx = await harness.start({ authorize: careTeamAuthorize });
    const client = await harness.connectAs(fx, 'dr-house');

    const [result] = await client.subscribe(['patient:p9']);

    expect(result).toMatchObject({ topic: 'patient:p9', status: 'ok' });
  });

  it('denies a topic that authorize refuses with topic_denied', async () => {
    const fx = await harness.start({ authorize: careTeamAuthorize });
    const client = await harness.connectAs(fx, 'visitor');

    const [result] = await client.subscribe(['patient:p9']);

    expect(result).toMatchObject({ topic: 'patient:p9', status: 'denied', code: 'topic_denied' });
  });

  it('passes the authenticated principal and the topic to authorize', async () => {
    const calls: [string, string][] = [];
    const fx = await harness.start({
      authorize: (principal, topic) => {
        calls.push([principal.userId, topic]);
        return true;
      },
    });
    const client = await harness.connectAs(fx, 'alice');

    await client.subscribe(['patient:p1', 'broadcast']);

    expect(calls).toEqual([
      ['alice', 'patient:p1'],
      ['alice', 'broadcast'],
    ]);
  });

  it('waits for an async authorize', async () => {
    const fx = await harness.start({
      authorize: async (_principal, topic) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return topic === 'broadcast';
      },
    });
    const client = await harness.connectAs(fx, 'alice');

    const results = await client.subscribe(['broadcast', 'patient:p1']);

    expect(results.map((r) => r.status)).toEqual(['ok', 'denied']);
  });

  it('denies a topic when authorize throws, and keeps the connection open', async () => {
    const fx = await harness.start({
      authorize: () => {
        throw new Error('policy service down');
      },
    });
    const client = await harness.connectAs(fx, 'alice');

    const [result] = await client.subscribe(['user:alice']);
    await client.roundTrip();

    expect(result).toMatchObject({ status: 'denied', code: 'topic_denied' });
    expect(client.closeInfo).toBeUndefined();
  });

  it('denies a topic when authorize returns a truthy value that is not true', async () => {
    const fx = await harness.start({ authorize: () => 'yes' as unknown as boolean });
    const client = await harness.connectAs(fx, 'alice');

    const [result] = await client.subscribe(['user:alice']);

    expect(result?.status).toBe('denied');
  });
});

describe('maxSubscriptions', () => {
  it('denies topics past maxSubscriptions with too_many_subscriptions', async () => {
    const fx = await harness.start({ maxSubscriptions: 2, authorize: () => true });
    const client = await harness.connectAs(fx, 'alice');

    const results = await client.subscribe(['topic.a', 'topic.b', 'topic.c']);

    expect(results.map((r) => [r.topic, r.status, r.code])).toEqual([
      ['topic.a', 'ok', undefined],
      ['topic.b', 'ok', undefined],
      ['topic.c', 'denied', 'too_many_subscriptions'],
    ]);
  });

  it('counts subscriptions across subscribe frames', async () => {
    const fx = await harness.start({ maxSubscriptions: 2, authorize: () => true });
    const client = await harness.connectAs(fx, 'alice');
    await client.subscribe(['topic.a', 'topic.b']);

    const [result] = await client.subscribe(['topic.c']);

    expect(result).toMatchObject({ status: 'denied', code: 'too_many_subscriptions' });
  });

  it('accepts a resubscription to a topic already held when at the limit', async () => {
    const fx = await harness.start({ maxSubscriptions: 2, authorize: () => true });
    const client = await harness.connectAs(fx, 'alice');
    await client.subscribe(['topic.a', 'topic.b']);

    const [result] = await client.subscribe(['topic.a']);

    expect(result?.status).toBe('ok');
    expect(fx.hub.stats().subscriptions).toBe(2);
  });

  it('frees a slot when a topic is unsubscribed', async () => {
    const fx = await harness.start({ maxSubscriptions: 1, authorize: () => true });
    const client = await harness.connectAs(fx, 'alice');
    await client.subscribe(['topic.a']);
    client.send({ type: 'unsubscribe', topics: ['topic.a'], ref: 'u' });
    await client.nextFrame('unsubscribed');

    const [result] = await client.subscribe(['topic.b']);

    expect(result?.status).toBe('ok');
  });
});

describe('unsubscribe', () => {
  it('answers unsubscribed with the topics and ref of the frame', async () => {
    const fx = await harness.start();
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);

    client.send({ type: 'unsubscribe', topics: ['user:alice'], ref: 'bye' });
    const reply = await client.nextFrame('unsubscribed');

    expect(reply).toEqual({ type: 'unsubscribed', topics: ['user:alice'], ref: 'bye' });
    expect(fx.hub.stats()).toMatchObject({ subscriptions: 0, topics: 0 });
  });

  it('stops delivery on a topic after unsubscribing from it', async () => {
    const fx = await harness.start({ authorize: () => true });
    const client = await harness.subscriber(fx, 'alice', ['user:alice', 'broadcast']);
    client.send({ type: 'unsubscribe', topics: ['broadcast'] });
    await client.nextFrame('unsubscribed');

    await fx.hub.publish('broadcast', { kind: 'custom', id: 'after-unsub' });
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'sentinel' });
    await client.notification('sentinel');

    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['sentinel']);
  });
});
