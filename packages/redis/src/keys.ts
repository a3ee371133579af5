/**
 * Redis key and channel names. Every key of one topic carries the topic as a hash tag (`{topic}`),
 * so the keys a script touches together would share a slot on a Redis Cluster.
 */
export interface Keys {
  /** Hash `{ e: epoch, s: last seq }`: the stream's identity, lost together with the stream. */
  meta(topic: string): string;
  /** Stream of the topic's notifications, one entry per seq (`s`, `n` = the notification's JSON). */
  stream(topic: string): string;
  /** Hash id -> seq of the newest ids (dedupe), and its previous generation. */
  ids(topic: string): string;
  idsOld(topic: string): string;
  /** Hash of the topic's reserved, not yet visible seqs (two-phase publish; see lua/pending.ts). */
  pending(topic: string): string;
  /** Pub/sub channel carrying the topic's notifications. */
  channel(topic: string): string;
  /** Pub/sub channel of control messages between instances. */
  readonly control: string;
  /** Sorted set instance id -> liveness deadline (ms). */
  readonly instances: string;
  /** Hash `topic\nuserId` -> 1: one instance's presence. */
  presence(instanceId: string): string;
  /** Sorted set `instance\nsession` -> deadline (ms): one user's connection slots. */
  connections(userId: string): string;
}

/** Key names under `prefix`. */
export function makeKeys(prefix: string): Keys {
  return {
    meta: (topic) => `${prefix}{${topic}}:meta`,
    stream: (topic) => `${prefix}{${topic}}:stream`,
    ids: (topic) => `${prefix}{${topic}}:ids`,
    idsOld: (topic) => `${prefix}{${topic}}:ids:old`,
    pending: (topic) => `${prefix}{${topic}}:pending`,
    channel: (topic) => `${prefix}{${topic}}:live`,
    control: `${prefix}control`,
    instances: `${prefix}instances`,
    presence: (instanceId) => `${prefix}presence:${instanceId}`,
    connections: (userId) => `${prefix}connections:${userId}`,
  };
}

/** The five keys of a topic, in the order the topic scripts expect them. */
export function topicKeys(keys: Keys, topic: string): string[] {
  return [keys.meta(topic), keys.stream(topic), keys.ids(topic), keys.idsOld(topic), keys.pending(topic)];
}
