import { describe, expect, it } from 'vitest';
import type { TestClient } from './helpers/client.js';
import { eventually, type Fixture, tick, useHarness, waitForEvent } from './helpers/harness.js';

const harness = useHarness();

const WAIT = 10_000;
const allow = { authorize: () => true } as const;

/** `count` subscribers of `topic`, users `${prefix}0`, `${prefix}1`, ... */
function subscribers(fx: Fixture, prefix: string, count: number, topic: string): Promise<TestClient[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => harness.subscriber(fx, `${prefix}${i}`, [topic])));
}

/** Publishes `count` notifications to `topic` without yielding between them, so they share a turn. */
function burst(fx: Fixture, topic: string, count: number, idPrefix: string): Promise<unknown> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => fx.hub.publish(topic, { kind: 'custom', id: `${idPrefix}${i}` })),
  );
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Bytes the hub holds for the connections of `userId` and has not written to the network yet. */
function bufferedOf(fx: Fixture, userId: string): number {
  return fx.hub
    .connections()
    .filter((c) => c.userId === userId)
    .reduce((n, c) => n + c.bufferedBytes, 0);
}

/**
 * The bound on holding: the default, and `0`, which writes everything held every 64 held frames
 * (the most drains in the middle of a turn, so order, limits and closes are checked across them).
 */
const BOUNDS = [
  { name: 'default maxFlushDelayMs', options: {} },
  { name: 'maxFlushDelayMs: 0', options: { maxFlushDelayMs: 0 } },
] as const;

describe.each(BOUNDS)('coalesced writes ($name)', ({ options }) => {
  it('delivers a burst of many publishes to many subscribers completely and in order', async () => {
    const fx = await harness.start({ ...allow, ...options });
    const clients = await subscribers(fx, 'reader-', 20, 'ward:4b');

    await burst(fx, 'ward:4b', 200, 'a');
    await tick();
    await burst(fx, 'ward:4b', 100, 'b');
    await Promise.all(clients.map((c) => c.notification('b99', WAIT)));

    for (const c of clients) {
      expect(c.seqs('ward:4b')).toEqual(range(1, 300));
      expect(c.invalid).toEqual([]);
    }
    expect(fx.hub.stats().deliveries).toBe(20 * 300);
  });

  it('keeps replies and notifications written in the same turn in the order they were written', async () => {
    const fx = await harness.start({ ...allow, ...options });
    const client = await harness.subscriber(fx, 'alice', ['ward:4b']);

    const published = burst(fx, 'ward:4b', 50, 'n');
    const pong = client.roundTrip();
    await published;
    await pong;
    await client.notification('n49', WAIT);

    expect(client.seqs('ward:4b')).toEqual(range(1, 50));
  });

  it('writes frames held before a close ahead of the close frame', async () => {
    const fx = await harness.start({ ...allow, ...options });
    const client = await harness.subscriber(fx, 'alice', ['ward:4b']);

    await burst(fx, 'ward:4b', 100, 'n');
    fx.hub.disconnectUser('alice', 'revoked');
    const close = await client.waitClose(WAIT);

    expect(close.code).toBe(4410);
    expect(client.seqs('ward:4b')).toEqual(range(1, 100));
  });

  it('writes frames held when the hub shuts down ahead of the close frame', async () => {
    const fx = await harness.start({ ...allow, ...options });
    const clients = await subscribers(fx, 'reader-', 5, 'ward:4b');

    await burst(fx, 'ward:4b', 100, 'n');
    const closing = fx.hub.close();
    const closes = await Promise.all(clients.map((c) => c.waitClose(WAIT)));
    await closing;

    for (const [i, c] of clients.entries()) {
      expect(closes[i]?.code).toBe(4503); // ServerShuttingDown
      expect(c.seqs('ward:4b')).toEqual(range(1, 100));
    }
  });

  it('still cuts off a client that stops reading with 4440 while bursts keep the others served', async () => {
    const payload = 'p'.repeat(30_000);
    const fx = await harness.start({ ...allow, ...options, maxBufferedBytes: 256 * 1024, closeTimeoutMs: 300 });
    const slow = await harness.subscriber(fx, 'slow-reader', ['broadcast']);
    const fast = await subscribers(fx, 'fast-', 3, 'broadcast');
    slow.pauseReading();
    const cut = waitForEvent(fx.hub, 'disconnect', (e) => e.userId === 'slow-reader', WAIT);

    let published = 0;
    while (published < 2_000 && fx.hub.stats().drops.slowConsumers === 0) {
      const batch = Array.from({ length: 4 }, () =>
        fx.hub.publish('broadcast', { kind: 'custom', id: `big-${published++}`, payload }),
      );
      await Promise.all(batch);
      await tick();
    }
    const event = await cut;
    await fx.hub.publish('broadcast', { kind: 'custom', id: 'sentinel' });
    await Promise.all(fast.map((c) => c.notification('sentinel', WAIT)));

    expect(event.code).toBe(4440);
    expect(fx.hub.stats().drops.slowConsumers).toBe(1);
    for (const c of fast) {
      expect(c.seqs('broadcast')).toEqual(range(1, published + 1));
      expect(c.closeInfo).toBeUndefined();
    }
  });

  it('does not take a reading client for a slow consumer when one turn writes more than maxBufferedBytes', async () => {
    const fx = await harness.start({ ...allow, ...options, maxBufferedBytes: 64 * 1024 });
    const client = await harness.subscriber(fx, 'alice', ['ward:4b']);
    const payload = 'p'.repeat(4_000);

    await Promise.all(
      Array.from({ length: 20 }, (_, i) => fx.hub.publish('ward:4b', { kind: 'custom', id: `n${i}`, payload })),
    );
    await client.notification('n19', WAIT);

    expect(fx.hub.stats().drops.slowConsumers).toBe(0);
    expect(client.seqs('ward:4b')).toEqual(range(1, 20));
  });
});

describe('coalesced writes', () => {
  it('counts frames held until the end of the turn in the connection send buffer', async () => {
    const fx = await harness.start(allow);
    await harness.subscriber(fx, 'alice', ['ward:4b']);

    await burst(fx, 'ward:4b', 20, 'n');
    const held = bufferedOf(fx, 'alice');
    await eventually(() => bufferedOf(fx, 'alice') === 0, 'the held frames were written', WAIT);

    expect(held).toBeGreaterThan(20 * 100);
  });

  it('delivers a lone notification without waiting for another one', async () => {
    const fx = await harness.start(allow);
    const client = await harness.subscriber(fx, 'alice', ['ward:4b']);

    await fx.hub.publish('ward:4b', { kind: 'custom', id: 'lone' });
    const n = await client.notification('lone', WAIT);

    expect(n.seq).toBe(1);
  });

  it('writes every frame at once with coalesceWrites: false', async () => {
    const fx = await harness.start({ ...allow, coalesceWrites: false });
    const clients = await subscribers(fx, 'reader-', 3, 'ward:4b');

    await burst(fx, 'ward:4b', 50, 'n');
    const held = bufferedOf(fx, 'reader-0');
    await Promise.all(clients.map((c) => c.notification('n49', WAIT)));

    expect(held).toBe(0);
    for (const c of clients) expect(c.seqs('ward:4b')).toEqual(range(1, 50));
  });

  it('writes what it holds once the oldest frame held has waited maxFlushDelayMs, within the turn', async () => {
    /** Bytes held after each of 80 publishes in a turn kept busy for 50 ms after its second frame. */
    const heldDuringSlowTurn = async (maxFlushDelayMs: number): Promise<number[]> => {
      const fx = await harness.start({ ...allow, maxFlushDelayMs });
      const client = await harness.subscriber(fx, 'alice', ['ward:4b']);
      // One turn (each publish settles in microtasks): the first frame is written at once, the
      // second is held, then synchronous work keeps the turn busy, then 80 more publishes.
      await fx.hub.publish('ward:4b', { kind: 'custom', id: 'first' });
      await fx.hub.publish('ward:4b', { kind: 'custom', id: 'second' });
      const start = performance.now();
      while (performance.now() - start < 50) {
        // Synchronous work in the same turn.
      }
      const held: number[] = [];
      for (let i = 0; i < 80; i++) {
        await fx.hub.publish('ward:4b', { kind: 'custom', id: `n${i}` });
        held.push(bufferedOf(fx, 'alice'));
      }
      await client.notification('n79', WAIT);
      expect(client.seqs('ward:4b')).toEqual(range(1, 82));
      return held;
    };
    /** The first publish after which fewer bytes were held than before it (a drain), or -1. */
    const firstDrain = (held: number[]): number => held.findIndex((bytes, i) => i > 0 && bytes < (held[i - 1] ?? 0));

    const bounded = await heldDuringSlowTurn(20);
    const unbounded = await heldDuringSlowTurn(Number.POSITIVE_INFINITY);
    const longBound = await heldDuringSlowTurn(60_000);
    const zero = await heldDuringSlowTurn(0);

    // The clock is read every 64 held frames: among the first 64 publishes after the busy part,
    // one found the oldest held frame 50 ms old (> 20) and wrote everything held.
    expect(firstDrain(bounded)).toBeGreaterThanOrEqual(0);
    expect(firstDrain(bounded)).toBeLessThan(64);
    // Unbounded (Infinity), or a bound the turn never reaches: held to the end of the turn, growing
    // with every publish.
    expect(firstDrain(unbounded)).toBe(-1);
    expect(unbounded.at(-1)).toBeGreaterThan(80 * 100);
    expect(firstDrain(longBound)).toBe(-1);
    // 0: every look at the clock drains, so at least once in any 64 publishes.
    expect(firstDrain(zero)).toBeGreaterThanOrEqual(0);
    expect(firstDrain(zero)).toBeLessThan(64);
  });

  it('refuses a negative or non-number maxFlushDelayMs with invalid_option', async () => {
    for (const maxFlushDelayMs of [-1, Number.NaN, '5' as unknown as number]) {
      await expect(harness.start({ ...allow, maxFlushDelayMs })).rejects.toMatchObject({ code: 'invalid_option' });
    }
  });
});
