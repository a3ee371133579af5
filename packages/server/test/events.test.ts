import { describe, expect, it } from 'vitest';
import { TOKEN_PREFIX, tokenFor, useHarness, waitForEvent } from './helpers/harness.js';

const harness = useHarness();

describe('hub.on', () => {
  it('returns a function that removes the listener', async () => {
    const fx = await harness.start();
    const seen: string[] = [];
    const off = fx.hub.on('publish', (e) => seen.push(e.id));

    await fx.hub.publish('user:alice', { kind: 'custom', id: 'before' });
    off();
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'after' });

    expect(seen).toEqual(['before']);
  });

  it('keeps other listeners of the same event when one is removed', async () => {
    const fx = await harness.start();
    const a: string[] = [];
    const b: string[] = [];
    const offA = fx.hub.on('publish', (e) => a.push(e.id));
    fx.hub.on('publish', (e) => b.push(e.id));

    offA();
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'n1' });

    expect(a).toEqual([]);
    expect(b).toEqual(['n1']);
  });
});

describe('connection events', () => {
  it("emits 'connection' for a new socket before it authenticated", async () => {
    const fx = await harness.start();
    const connection = waitForEvent(fx.hub, 'connection');

    harness.connect(fx, { token: tokenFor('alice') });
    const event = await connection;

    expect(event).toEqual({ sessionId: expect.any(String), userId: undefined, remoteAddress: '127.0.0.1' });
  });

  it("emits 'authenticated' with the user id, the expiry and refresh: false", async () => {
    const fx = await harness.start();
    const authenticated = waitForEvent(fx.hub, 'authenticated');

    harness.connect(fx, { token: tokenFor('alice') });
    const event = await authenticated;

    expect(event).toMatchObject({ userId: 'alice', expiresAt: undefined, refresh: false });
    expect(JSON.stringify(event)).not.toContain(TOKEN_PREFIX);
  });

  it("emits 'subscribe' with the user id, topic and recovered flag", async () => {
    const fx = await harness.start();
    const subscribe = waitForEvent(fx.hub, 'subscribe');
    const client = await harness.connectAs(fx, 'alice');

    await client.subscribe(['user:alice']);
    const event = await subscribe;

    expect(event).toMatchObject({ userId: 'alice', topic: 'user:alice', recovered: false });
  });

  it("emits 'denied' with the user id, topic and code", async () => {
    const fx = await harness.start();
    const denied = waitForEvent(fx.hub, 'denied');
    const client = await harness.connectAs(fx, 'alice');

    await client.subscribe(['user:bob']);
    const event = await denied;

    expect(event).toMatchObject({ userId: 'alice', topic: 'user:bob', code: 'topic_denied' });
  });

  it("emits 'unsubscribe' with the user id and topic", async () => {
    const fx = await harness.start();
    const unsubscribe = waitForEvent(fx.hub, 'unsubscribe');
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);

    client.send({ type: 'unsubscribe', topics: ['user:alice'] });
    const event = await unsubscribe;

    expect(event).toMatchObject({ userId: 'alice', topic: 'user:alice' });
  });

  it("emits 'disconnect' with the user id, close code and reason", async () => {
    const fx = await harness.start();
    const disconnect = waitForEvent(fx.hub, 'disconnect');
    const client = await harness.connectAs(fx, 'alice');

    client.ws.close(1000, 'bye');
    const event = await disconnect;

    expect(event).toMatchObject({ userId: 'alice', code: 1000, reason: 'bye' });
  });

  it("emits 'disconnect' with the hub's close code for a connection the hub closed", async () => {
    const fx = await harness.start();
    const disconnect = waitForEvent(fx.hub, 'disconnect');
    const client = await harness.connectAs(fx, 'alice');

    client.send({ type: 'auth', token: tokenFor('mallory') });
    const event = await disconnect;

    expect(event).toMatchObject({ userId: 'alice', code: 4403 });
  });

  it("emits 'ack' with the user id and notification id, and answers the frame with a receipt", async () => {
    const fx = await harness.start();
    const ack = waitForEvent(fx.hub, 'ack');
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);
    await fx.hub.publish('user:alice', { kind: 'custom', priority: 'critical', id: 'crit-1' });
    await client.notification('crit-1');

    client.send({ type: 'ack', id: 'crit-1', ref: 'ack-1' });
    const event = await ack;
    const receipt = await client.nextFrame('receipt');

    expect(event).toMatchObject({ userId: 'alice', id: 'crit-1' });
    expect(receipt).toEqual({ type: 'receipt', id: 'crit-1', action: 'ack', ref: 'ack-1' });
  });

  it("emits 'read' with the user id and notification id, and answers the frame with a receipt", async () => {
    const fx = await harness.start();
    const read = waitForEvent(fx.hub, 'read');
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'n-7' });
    await client.notification('n-7');

    client.send({ type: 'read', id: 'n-7' });
    const event = await read;
    const receipt = await client.nextFrame('receipt');

    expect(event).toMatchObject({ userId: 'alice', id: 'n-7' });
    expect(receipt).toEqual({ type: 'receipt', id: 'n-7', action: 'read' });
  });

  it("emits 'publish' with the notification's place and kind but not its payload", async () => {
    const fx = await harness.start();
    const publish = waitForEvent(fx.hub, 'publish');

    await fx.hub.publish('patient:p1', {
      kind: 'custom',
      priority: 'urgent',
      id: 'dx-1',
      payload: { text: 'PAYLOAD_SECRET suspected sepsis' },
    });
    const event = await publish;

    expect(event).toEqual({
      id: 'dx-1',
      topic: 'patient:p1',
      epoch: expect.any(String),
      seq: 1,
      kind: 'custom',
      priority: 'urgent',
    });
  });

  it('never carries tokens in any event of a whole connection lifecycle', async () => {
    const fx = await harness.start();
    const events: unknown[] = [];
    for (const name of [
      'connection',
      'authenticated',
      'subscribe',
      'denied',
      'unsubscribe',
      'ack',
      'disconnect',
      'audit',
      'error',
    ] as const) {
      fx.hub.on(name, (e: unknown) => events.push(e));
    }
    const disconnect = waitForEvent(fx.hub, 'disconnect');
    const client = harness.connect(fx);
    await client.nextFrame('welcome');
    client.send({ type: 'auth', token: tokenFor('alice') });
    await client.nextFrame('authenticated');
    client.send({ type: 'auth', token: tokenFor('alice') });
    await client.nextFrame('authenticated');
    await client.subscribe(['user:alice', 'user:bob']);
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'x' });
    await client.notification('x');
    client.send({ type: 'ack', id: 'x' });
    await client.nextFrame('receipt');
    client.send({ type: 'auth', token: `${TOKEN_PREFIX}` });
    await client.nextFrame('error');
    client.ws.close();
    await disconnect;

    expect(events.length).toBeGreaterThanOrEqual(8);
    expect(JSON.stringify(events)).not.toContain(TOKEN_PREFIX);
  });
});

describe('audit events', () => {
  it('records who did what without tokens or payloads', async () => {
    const fx = await harness.start();
    const audit = harness.record(fx, 'audit');
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);
    await client.subscribe(['patient:p1']);
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'n1', payload: 'PAYLOAD_SECRET' });
    client.send({ type: 'ack', id: 'n1' });
    await client.nextFrame('receipt');

    expect(audit.map((e) => e.type)).toEqual([
      'connection.opened',
      'auth.succeeded',
      'subscribe.denied',
      'notification.acknowledged',
    ]);
    expect(audit.every((e, i) => i === 0 || e.userId === 'alice')).toBe(true);
    expect(JSON.stringify(audit)).not.toMatch(/tok_SECRET_|PAYLOAD_SECRET/);
  });
});
