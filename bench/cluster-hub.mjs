// Hub child of the cluster benchmark: `node cluster-hub.mjs memory|redis`. With `redis`, the hub
// runs on a Redis backplane (REDIS_URL, BENCH_PREFIX, BENCH_INSTANCE); with `memory`, on the
// in-memory defaults. Listens on 127.0.0.1 and publishes on request:
//   publish {run, i} -> publishes one lab_result stamped with the publish time, replies when stored
//   exit             -> closes the hub and exits
import { createServer } from 'node:http';
import { createRedisBackplane } from '@wardcast/redis';
import { NotificationHub } from '@wardcast/server';
import { answerParent } from './children.mjs';
import { benchId, KIND, makePayload, now, PRIORITY, TOPIC } from './payload.mjs';

const mode = process.argv[2];
const backplane =
  mode === 'redis'
    ? createRedisBackplane({
        redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        keyPrefix: process.env.BENCH_PREFIX,
        instanceId: process.env.BENCH_INSTANCE,
        // Bench keys vanish from the shared Redis a minute after the run.
        maxAgeMs: 60_000,
        topicTtlMs: 60_000,
      })
    : undefined;
const hub = new NotificationHub({
  authenticate: ({ token }) => (token ? { userId: token } : null),
  authorize: () => true,
  ...(backplane && { history: backplane, broker: backplane }),
  closeTimeoutMs: 500,
  // Every bench client connects from 127.0.0.1: lift the per-address admission limits.
  maxUpgradesPerSecondPerAddress: 1_000_000,
  maxUnauthenticatedPerAddress: 1_000_000,
});
const http = createServer((_req, res) => res.writeHead(404).end());
hub.attach(http);
http.listen(0, '127.0.0.1', () => process.send({ event: 'listening', port: http.address().port }));

const handlers = {
  async publish({ run, i }) {
    const ts = now();
    await hub.publish(TOPIC, { kind: KIND, priority: PRIORITY, id: benchId(run, i, ts), payload: makePayload() });
    return {};
  },
  async exit() {
    await hub.close();
    setImmediate(() => process.exit(0));
    return {};
  },
};

answerParent(handlers);
