import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TestClient } from './helpers/client.js';
import { type Fixture, tick, useHarness, waitForEvent } from './helpers/harness.js';

const harness = useHarness();

const MAX_BUFFERED = 256 * 1024;
const PAYLOAD = 'p'.repeat(60_000);
const MAX_PUBLISHES = 2_000;

/** A hub where `slow` stopped reading and `fast` keeps reading, both on `broadcast`. */
async function setup(): Promise<{ fx: Fixture; slow: TestClient; fast: TestClient }> {
  const fx = await harness.start({
    maxBufferedBytes: MAX_BUFFERED,
    maxPayloadBytes: 64 * 1024,
    closeTimeoutMs: 300,
    authorize: () => true,
  });
  const slow = await harness.subscriber(fx, 'slow-reader', ['broadcast']);
  const fast = await harness.subscriber(fx, 'fast-reader', ['broadcast']);
  slow.pauseReading();
  return { fx, slow, fast };
}

/**
 * Publishes large notifications, yielding to I/O between them, until the hub cut off a slow
 * consumer (or MAX_PUBLISHES). Returns how many were published and the largest send buffer
 * the slow connection reached.
 */
async function publishUntilCut(fx: Fixture, slowUser: string): Promise<{ published: number; maxBuffered: number }> {
  let maxBuffered = 0;
  let published = 0;
  while (published < MAX_PUBLISHES && fx.hub.stats().drops.slowConsumers === 0) {
    await fx.hub.publish('broadcast', { kind: 'custom', id: `big-${published}`, payload: PAYLOAD });
    published++;
    for (const c of fx.hub.connections()) {
      if (c.userId === slowUser) maxBuffered = Math.max(maxBuffered, c.bufferedBytes);
    }
    await tick();
  }
  return { published, maxBuffered };
}

describe('slow consumers', () => {
  it('closes a connection that stops reading with 4440 once its send buffer passes maxBufferedBytes', async () => {
    const { fx } = await setup();
    const disconnect = waitForEvent(fx.hub, 'disconnect', (e) => e.userId === 'slow-reader', 10_000);

    const { published } = await publishUntilCut(fx, 'slow-reader');
    const event = await disconnect;

    expect(published).toBeLessThan(MAX_PUBLISHES);
    expect(event.code).toBe(4440);
    expect(fx.hub.stats().drops.slowConsumers).toBe(1);
  });

  it("bounds the slow connection's send buffer near maxBufferedBytes", async () => {
    const { fx } = await setup();

    const { maxBuffered } = await publishUntilCut(fx, 'slow-reader');

    // One more frame may be queued on top of the limit, plus the close frame.
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(MAX_BUFFERED + PAYLOAD.length + 1_024);
  });

  it('stops writing to a slow connection once it was cut off', async () => {
    const { fx } = await setup();
    await publishUntilCut(fx, 'slow-reader');
    const before = fx.hub.connections().find((c) => c.userId === 'slow-reader');

    for (let i = 0; i < 20; i++) await fx.hub.publish('broadcast', { kind: 'custom', payload: PAYLOAD });
    const after = fx.hub.connections().find((c) => c.userId === 'slow-reader');

    expect(before?.topics).toEqual([]);
    // Either already freed, or still closing with no more bytes queued than before.
    expect(after === undefined || after.bufferedBytes <= (before?.bufferedBytes ?? 0)).toBe(true);
  });

  it('cuts off a slow consumer of a compressed connection too (its buffer is read from ws)', async () => {
    const fx = await harness.start({
      perMessageDeflate: true,
      maxBufferedBytes: MAX_BUFFERED,
      maxPayloadBytes: 64 * 1024,
      closeTimeoutMs: 300,
      authorize: () => true,
    });
    const slow = await harness.subscriber(fx, 'slow-reader', ['broadcast']);
    slow.pauseReading();
    const disconnect = waitForEvent(fx.hub, 'disconnect', (e) => e.userId === 'slow-reader', 10_000);
    // Random bytes, so that deflate cannot make the frames small.
    let maxBuffered = 0;
    for (let i = 0; i < MAX_PUBLISHES && fx.hub.stats().drops.slowConsumers === 0; i++) {
      await fx.hub.publish('broadcast', { kind: 'custom', payload: randomBytes(30_000).toString('base64') });
      for (const c of fx.hub.connections())
        if (c.userId === 'slow-reader') maxBuffered = Math.max(maxBuffered, c.bufferedBytes);
      await tick();
    }

    expect((await disconnect).code).toBe(4440);
    expect(maxBuffered).toBeGreaterThan(0);
  });

  it('keeps delivering every notification, in order, to a client that reads normally', async () => {
    const { fx, fast } = await setup();

    const { published } = await publishUntilCut(fx, 'slow-reader');
    await fx.hub.publish('broadcast', { kind: 'custom', id: 'sentinel' });
    await fast.notification('sentinel', 10_000);

    expect(fast.seqs('broadcast')).toEqual(Array.from({ length: published + 1 }, (_, i) => i + 1));
    expect(fast.closeInfo).toBeUndefined();
  });
});
