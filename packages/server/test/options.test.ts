import v8 from 'node:v8';
import { DEFAULT_LIMITS, type HubLimits, isWardcastError, NotificationHub } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { testAuthenticate, useHarness } from './helpers/harness.js';

const harness = useHarness();

/** Constructs a hub and returns what the constructor threw (closing the hub if it did not throw). */
async function constructionError(options: Record<string, unknown>): Promise<unknown> {
  try {
    const hub = new NotificationHub(options as unknown as ConstructorParameters<typeof NotificationHub>[0]);
    await hub.close();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('hub options', () => {
  it('refuses to start without authenticate', async () => {
    const error = await constructionError({});

    expect(isWardcastError(error, 'invalid_option')).toBe(true);
  });

  it.each([
    ['zero', 0],
    ['a negative number', -5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '100'],
  ])('refuses a limit that is %s with invalid_option naming it', async (_label, value) => {
    const error = await constructionError({ authenticate: testAuthenticate, maxFrameBytes: value });

    expect(isWardcastError(error, 'invalid_option')).toBe(true);
    expect((error as Error).message).toContain('maxFrameBytes');
  });

  it('fills every limit left out with its default', async () => {
    const fx = await harness.start({ closeTimeoutMs: DEFAULT_LIMITS.closeTimeoutMs });

    expect(fx.hub.limits).toEqual(DEFAULT_LIMITS);
  });

  it('keeps its limits in a plain-shaped object, read with a field load on every delivery', async () => {
    // A V8 intrinsic, compiled after the flag is set: whether the object is not a dictionary.
    v8.setFlagsFromString('--allow-natives-syntax');
    const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;
    const fx = await harness.start({ maxBufferedBytes: 2_000_000, idleTimeoutMs: 0, maxFramesPerSecond: 2.5 });

    expect(hasFastProperties(fx.hub.limits)).toBe(true);
    expect(fx.hub.limits).toMatchObject({ maxBufferedBytes: 2_000_000, idleTimeoutMs: 0, maxFramesPerSecond: 2.5 });
  });

  it('announces its limits in the welcome frame', async () => {
    const limits: HubLimits = {
      maxFrameBytes: 4_096,
      maxFramesPerSecond: 7,
      maxSubscriptions: 3,
      authTimeoutMs: 1_234,
    };
    const fx = await harness.start(limits);
    const client = harness.connect(fx);

    const welcome = await client.nextFrame('welcome');

    expect(welcome.limits).toEqual(limits);
  });
});
