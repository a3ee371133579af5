import type { RedisBackplane, RedisBackplaneOptions } from '@wardcast/redis';
import type { Fixture, Harness, StartOptions } from '../../../server/test/helpers/harness.js';
import type { useBackplanes } from './redis.js';

/** A hub on a Redis backplane. */
export interface RedisFixture extends Fixture {
  readonly backplane: RedisBackplane;
}

/**
 * Starts `count` hubs sharing one key prefix (one cluster), each with its own backplane, on real
 * HTTP servers. Every topic is allowed; other hub options can be passed.
 */
export async function startCluster(
  harness: Harness,
  backplanes: ReturnType<typeof useBackplanes>,
  count: number,
  options: { backplane?: Partial<RedisBackplaneOptions>; hub?: StartOptions } = {},
): Promise<RedisFixture[]> {
  const fixtures: RedisFixture[] = [];
  for (let i = 0; i < count; i++) {
    const backplane = backplanes.make({
      instanceId: `hub-${i}-${Math.random().toString(36).slice(2, 6)}`,
      ...options.backplane,
    });
    const fixture = await harness.start({
      history: backplane,
      broker: backplane,
      authorize: () => true,
      ...options.hub,
    });
    fixtures.push({ ...fixture, backplane });
  }
  return fixtures;
}
