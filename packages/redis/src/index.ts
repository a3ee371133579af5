/**
 * `@wardcast/redis`: a Redis backplane for many `NotificationHub` instances. One object serves
 * as the hub's broker (pub/sub fan-out with gap fill) and history store (Redis Streams: one seq
 * per topic shared by all instances, replay on resume), and carries `disconnectUser`, receipts,
 * presence and per-user connection limits across instances.
 *
 * @packageDocumentation
 * @module \@wardcast/redis
 */

export { createRedisBackplane, RedisBackplane } from './backplane.js';
export { DEFAULT_REDIS_BACKPLANE, type RedisBackplaneOptions } from './options.js';
