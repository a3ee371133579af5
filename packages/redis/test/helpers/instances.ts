import { fileURLToPath } from 'node:url';
import { assertBuilt as assertPackagesBuilt, HubProcess } from '../../../../conformance/processes.js';

export { HubProcess, type PublishReply } from '../../../../conformance/processes.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/hub-instance.mjs', import.meta.url));

/** Throws when a package the child processes import was not built. */
export function assertBuilt(): void {
  assertPackagesBuilt(['redis', 'server', 'protocol']);
}

/**
 * Starts a hub instance on the built packages (fixtures/hub-instance.mjs) in its own process.
 * `env` adds settings the fixture reads: `INSTANCE_TTL_MS` (the backplane's `instanceTtlMs`),
 * `MAX_CONNECTIONS_PER_USER` (the hub's limit); unset ones keep their defaults.
 */
export function startInstance(
  name: string,
  redisUrl: string,
  keyPrefix: string,
  env: Record<string, string> = {},
): Promise<HubProcess> {
  return HubProcess.start(name, {
    fixture: FIXTURE,
    env: { ...env, REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix },
    startTimeoutMs: 10_000,
  });
}
