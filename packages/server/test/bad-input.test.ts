import { describe, expect, it } from 'vitest';
import { tokenFor, useHarness, waitForEvent } from './helpers/harness.js';

const harness = useHarness();

describe('malformed frames', () => {
  it('answers a frame that is not JSON with a bad_json error and keeps the connection usable', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    client.sendText('{"type": "subscribe", topics: [');
    const error = await client.nextFrame('error');
    const [result] = await client.subscribe(['user:alice']);

    expect(error.code).toBe('bad_json');
    expect(result?.status).toBe('ok');
  });

  it('answers a frame of an unknown type with unknown_type, echoing its ref', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    client.send({ type: 'teleport', ref: 'x1' });
    const error = await client.nextFrame('error');

    expect(error).toMatchObject({ code: 'unknown_type', ref: 'x1' });
  });

  it('answers a frame with a wrong field with bad_frame naming the field path', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    client.send({
      type: 'subscribe',
      ref: 'bad-seq',
      topics: [{ topic: 'user:alice', since: { epoch: 'e', seq: 'x' } }],
    });
    const error = await client.nextFrame('error');
    await client.roundTrip();

    expect(error).toMatchObject({ code: 'bad_frame', ref: 'bad-seq' });
    expect(error.message).toContain('topics[0].since.seq');
    expect(fx.hub.stats().subscriptions).toBe(0);
  });

  it('answers a subscribe to an invalid topic name with bad_frame', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    client.send({ type: 'subscribe', topics: [{ topic: 'user alice' }] });
    const error = await client.nextFrame('error');

    expect(error.code).toBe('bad_frame');
    expect(error.message).toContain('topics[0].topic');
  });

  it('answers a binary frame with binary_not_supported', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    client.ws.send(Buffer.from(JSON.stringify({ type: 'ping' })), { binary: true });
    const error = await client.nextFrame('error');
    await client.roundTrip();

    expect(error.code).toBe('binary_not_supported');
    expect(client.framesOf('pong')).toHaveLength(1);
  });

  it('answers a JSON value that is not an object with bad_frame', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    client.sendText('[1,2,3]');
    const error = await client.nextFrame('error');

    expect(error.code).toBe('bad_frame');
  });

  it('closes with 4400 a connection that sends maxInvalidFrames malformed frames', async () => {
    const fx = await harness.start({ maxInvalidFrames: 3 });
    const client = await harness.connectAs(fx, 'alice');

    client.sendText('nope');
    client.send({ type: 'nope' });
    client.ws.send(Buffer.from([0xff, 0xfe]), { binary: true });
    const { code } = await client.waitClose();

    expect(code).toBe(4400);
    expect(client.framesOf('error').map((e) => e.code)).toEqual(['bad_json', 'unknown_type', 'binary_not_supported']);
    expect(fx.hub.stats().drops.invalidFrames).toBe(3);
  });

  it('keeps a connection open while it stays below maxInvalidFrames', async () => {
    const fx = await harness.start({ maxInvalidFrames: 3 });
    const client = await harness.connectAs(fx, 'alice');

    client.sendText('nope');
    client.sendText('nope again');
    await client.nextFrame('error');
    await client.nextFrame('error');
    await client.roundTrip();

    expect(client.closeInfo).toBeUndefined();
  });

  it('answers malformed frames from an unauthenticated socket without crashing and closes it at the limit', async () => {
    const fx = await harness.start({ maxInvalidFrames: 2 });
    const client = harness.connect(fx);
    await client.nextFrame('welcome');

    client.sendText('\u0000\u0001');
    client.send({ type: 'auth' });
    const { code } = await client.waitClose();

    expect(client.framesOf('error').map((e) => e.code)).toEqual(['bad_json', 'bad_frame']);
    expect(code).toBe(4400);
  });
});

describe('oversized frames', () => {
  it('closes with 1009 a connection that sends a frame larger than maxFrameBytes', async () => {
    const fx = await harness.start({ maxFrameBytes: 1_024 });
    const client = await harness.connectAs(fx, 'alice');

    client.send({ type: 'ping', ref: 'big', padding: 'x'.repeat(2_000) });
    const { code } = await client.waitClose();

    expect(code).toBe(1009);
    expect(client.framesOf('pong')).toEqual([]);
  });

  it('keeps delivering to other connections on the hub after closing an oversized one', async () => {
    const fx = await harness.start({ maxFrameBytes: 1_024, authorize: () => true });
    const bystander = await harness.subscriber(fx, 'bob', ['broadcast']);
    const offender = await harness.subscriber(fx, 'alice', ['broadcast']);
    const disconnected = waitForEvent(fx.hub, 'disconnect', (e) => e.userId === 'alice');

    offender.sendText('x'.repeat(5_000));
    await offender.waitClose();
    await disconnected;
    await fx.hub.publish('broadcast', { kind: 'custom', id: 'after' });
    const frame = await bystander.notification('after');

    expect(frame.id).toBe('after');
    expect(fx.hub.stats().connections).toBe(1);
  });

  it('accepts a frame just under maxFrameBytes', async () => {
    const fx = await harness.start({ maxFrameBytes: 1_024 });
    const client = await harness.connectAs(fx, 'alice');

    const text = JSON.stringify({ type: 'ping', ref: 'fits', pad: '' });
    client.sendText(JSON.stringify({ type: 'ping', ref: 'fits', pad: 'x'.repeat(1_024 - text.length) }));
    const pong = await client.nextFrame('pong');

    expect(pong.ref).toBe('fits');
  });
});

describe('rate limit', () => {
  it('closes with 4429 a connection that floods frames past maxFramesPerSecond and counts it', async () => {
    const fx = await harness.start({ maxFramesPerSecond: 5 });
    const client = await harness.connectAs(fx, 'alice');

    for (let i = 0; i < 50; i++) client.send({ type: 'ping', ts: i });
    const { code } = await client.waitClose();

    expect(code).toBe(4429);
    expect(fx.hub.stats().drops.rateLimited).toBeGreaterThan(0);
    expect(client.framesOf('pong').length).toBeLessThanOrEqual(10);
  });

  it('sends a rate_limited error frame before closing a flooding connection', async () => {
    const fx = await harness.start({ maxFramesPerSecond: 5 });
    const client = await harness.connectAs(fx, 'alice');

    for (let i = 0; i < 50; i++) client.send({ type: 'ping' });
    await client.waitClose();

    expect(client.framesOf('error').map((e) => e.code)).toEqual(['rate_limited']);
  });

  it('does not disturb other connections of the same user when one floods', async () => {
    const fx = await harness.start({ maxFramesPerSecond: 5 });
    const calm = await harness.subscriber(fx, 'alice', ['user:alice']);
    const flood = await harness.connectAs(fx, 'alice');

    for (let i = 0; i < 50; i++) flood.send({ type: 'ping' });
    await flood.waitClose();
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'still-here' });

    expect((await calm.notification('still-here')).id).toBe('still-here');
  });
});

describe('connections per user', () => {
  it('closes with 4430 a connection past maxConnectionsPerUser', async () => {
    const fx = await harness.start({ maxConnectionsPerUser: 2 });
    await harness.connectAs(fx, 'alice');
    await harness.connectAs(fx, 'alice');

    const third = harness.connect(fx, { token: tokenFor('alice') });
    const { code } = await third.waitClose();

    expect(code).toBe(4430);
  });

  it('sends too_many_connections with the default 5 s retry hint right before 4430', async () => {
    const fx = await harness.start({ maxConnectionsPerUser: 1 });
    await harness.connectAs(fx, 'alice');

    const second = harness.connect(fx, { token: tokenFor('alice') });
    await second.waitClose();

    expect(second.framesOf('error')).toEqual([
      { type: 'error', code: 'too_many_connections', message: 'too many connections', retryAfterMs: 5_000 },
    ]);
    expect(second.frames.at(-1)?.type).toBe('error');
  });

  it('keeps the earlier connections of the user working after refusing one past the limit', async () => {
    const fx = await harness.start({ maxConnectionsPerUser: 1 });
    const first = await harness.subscriber(fx, 'alice', ['user:alice']);
    const second = harness.connect(fx, { token: tokenFor('alice') });
    await second.waitClose();
    await waitForEvent(fx.hub, 'disconnect');

    await fx.hub.publish('user:alice', { kind: 'custom', id: 'n1' });
    await first.notification('n1');

    expect(fx.hub.stats()).toMatchObject({ connections: 1, users: 1 });
  });

  it('counts connections per user, not in total', async () => {
    const fx = await harness.start({ maxConnectionsPerUser: 1 });
    await harness.connectAs(fx, 'alice');

    const bob = await harness.connectAs(fx, 'bob');
    await bob.roundTrip();

    expect(bob.closeInfo).toBeUndefined();
  });

  it('accepts a new connection once an earlier one of the user has closed', async () => {
    const fx = await harness.start({ maxConnectionsPerUser: 1 });
    const first = await harness.connectAs(fx, 'alice');
    const gone = waitForEvent(fx.hub, 'disconnect');
    first.ws.close();
    await gone;

    const second = await harness.connectAs(fx, 'alice');
    await second.roundTrip();

    expect(second.closeInfo).toBeUndefined();
  });
});
