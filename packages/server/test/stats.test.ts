import { describe, expect, it } from 'vitest';
import { TOKEN_PREFIX, tick, useHarness } from './helpers/harness.js';

const harness = useHarness();

describe('stats()', () => {
  it('counts connections, authenticated connections, users, topics and subscriptions', async () => {
    const fx = await harness.start({ authorize: () => true });
    await harness.subscriber(fx, 'alice', ['user:alice', 'patient:p1']);
    await harness.subscriber(fx, 'alice', ['user:alice']);
    await harness.subscriber(fx, 'bob', ['patient:p1']);
    const anonymous = harness.connect(fx);
    await anonymous.nextFrame('welcome');

    expect(fx.hub.stats()).toMatchObject({
      connections: 4,
      authenticatedConnections: 3,
      users: 2,
      topics: 2,
      subscriptions: 4,
    });
  });

  it('counts frames in and out, deliveries and publishes exactly', async () => {
    const fx = await harness.start();
    // Out: welcome + authenticated.
    const client = await harness.connectAs(fx, 'alice');
    // In: subscribe. Out: subscribed.
    await client.subscribe(['user:alice']);
    // Out: three notifications.
    for (const id of ['n1', 'n2', 'n3']) await fx.hub.publish('user:alice', { kind: 'custom', id });
    await fx.hub.publish('user:bob', { kind: 'custom', id: 'nobody-listens' });
    await client.notification('n3');
    // In: ping. Out: pong.
    await client.roundTrip();

    expect(fx.hub.stats()).toMatchObject({
      framesIn: 2,
      framesOut: 7,
      deliveries: 3,
      published: 4,
      duplicates: 0,
    });
  });

  it('counts one delivery per subscriber of a fan-out', async () => {
    const fx = await harness.start({ authorize: () => true });
    const clients = await Promise.all(['a', 'b', 'c', 'd'].map((u) => harness.subscriber(fx, u, ['broadcast'])));

    await fx.hub.publish('broadcast', { kind: 'custom', id: 'all' });
    await Promise.all(clients.map((c) => c.notification('all')));

    expect(fx.hub.stats()).toMatchObject({ deliveries: 4, published: 1 });
  });

  it('counts the deliveries of a fan-out at every PHI level, leaving out the one cut off as a slow consumer', async () => {
    const fx = await harness.start({ authorize: () => true, maxBufferedBytes: 64 * 1024, maxPayloadBytes: 64 * 1024 });
    const full = await harness.subscriber(fx, 'full', ['broadcast']);
    const idOnly = await harness.connectAs(fx, 'id-only');
    idOnly.send({ type: 'subscribe', ref: 's', topics: [{ topic: 'broadcast', phi: 'id-only' }] });
    await idOnly.nextFrame('subscribed', (f) => f.ref === 's');
    const slow = await harness.subscriber(fx, 'slow', ['broadcast']);
    slow.pauseReading();
    let published = 0;
    while (published < 500 && fx.hub.stats().drops.slowConsumers === 0) {
      await fx.hub.publish('broadcast', { kind: 'custom', id: `big-${published}`, payload: 'p'.repeat(30_000) });
      published++;
      await tick();
    }
    await fx.hub.publish('broadcast', { kind: 'custom', id: 'last' });
    await Promise.all([full.notification('last'), idOnly.notification('last')]);

    // The slow connection was written every notification before the one that found it over the limit.
    const toSlow = published - 1;
    expect(fx.hub.stats().drops.slowConsumers).toBe(1);
    expect(full.framesOf('notification')).toHaveLength(published + 1);
    expect(idOnly.framesOf('notification')).toHaveLength(published + 1);
    expect(fx.hub.stats().deliveries).toBe(2 * (published + 1) + toSlow);
  });

  it('counts replayed notifications as deliveries', async () => {
    const fx = await harness.start();
    const first = await harness.subscriber(fx, 'alice', ['user:alice']);
    const { epoch } = await fx.hub.publish('user:alice', { kind: 'custom', id: 'n1' });
    await first.notification('n1');
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'n2' });
    await first.notification('n2');
    const second = await harness.connectAs(fx, 'alice');

    await second.subscribe([{ topic: 'user:alice', since: { epoch, seq: 0 } }]);

    expect(second.seqs('user:alice')).toEqual([1, 2]);
    expect(fx.hub.stats().deliveries).toBe(4);
  });

  it('contains neither tokens nor payloads, in stats() or in connections()', async () => {
    const fx = await harness.start();
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'n1', payload: { note: 'PAYLOAD_SECRET_hiv_status' } });
    await client.notification('n1');

    const dump = JSON.stringify([fx.hub.stats(), fx.hub.connections()]);

    expect(dump).not.toContain(TOKEN_PREFIX);
    expect(dump).not.toContain('PAYLOAD_SECRET');
  });

  it('lists each open connection with its user, phase and topics', async () => {
    const fx = await harness.start();
    await harness.subscriber(fx, 'alice', ['user:alice']);
    const anonymous = harness.connect(fx);
    await anonymous.nextFrame('welcome');

    const rows = fx.hub
      .connections()
      .map((c) => [c.userId, c.phase, c.topics])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));

    expect(rows).toEqual([
      ['alice', 'open', ['user:alice']],
      [undefined, 'awaiting_token', []],
    ]);
  });
});
