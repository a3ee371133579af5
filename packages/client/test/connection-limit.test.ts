import type { ClientStatus, WardcastError } from '@wardcast/client';
import { MemoryBroker } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { eventually, record, tokenFor, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

/** The memory broker with a short retry hint, so a test does not wait the 5 s default. */
class HintingBroker extends MemoryBroker {
  readonly connectionRetryAfterMs: number;

  constructor(retryAfterMs: number) {
    super();
    this.connectionRetryAfterMs = retryAfterMs;
  }
}

type Reconnecting = Extract<ClientStatus, { state: 'reconnecting' }>;

describe('connection limit (4430)', () => {
  it('backs off for at least retryAfterMs while the user is at the limit, then gets in once a slot frees', async () => {
    const hint = 800;
    const server = await f.hub({ maxConnectionsPerUser: 1, broker: new HintingBroker(hint) });
    const first = f.client({ url: server.url, token: tokenFor('u1') });
    await eventually(() => first.status.state === 'open', 'the first tab is open');

    const second = f.client({ url: server.url, token: tokenFor('u1') });
    const log = record(second);
    /** When each refusal closed and when each following attempt started. */
    const refusedAt: number[] = [];
    const attemptAt: number[] = [];
    second.on('status', (s) => {
      if (s.state === 'reconnecting' && s.lastClose.code === 4430) refusedAt.push(Date.now());
      if (s.state === 'connecting' && refusedAt.length > attemptAt.length) attemptAt.push(Date.now());
    });

    // Refused twice while the first tab holds the only slot: it keeps trying instead of giving up.
    await eventually(() => refusedAt.length >= 2, 'the second tab was refused twice', 10_000);
    first.close();
    await eventually(() => second.status.state === 'open', 'the second tab got the freed slot', 10_000);

    const refusals = log.statuses.filter((s): s is Reconnecting => s.state === 'reconnecting');
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    for (const r of refusals) {
      expect(r.lastClose).toEqual({ code: 4430, reason: 'too many connections' });
      expect(r.delayMs).toBeGreaterThanOrEqual(hint);
    }
    const waits = attemptAt.map((at, i) => at - (refusedAt[i] as number));
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(hint - 5);
    expect(log.statuses.some((s) => s.state === 'closed')).toBe(false);
    const errors: WardcastError[] = log.errors.filter((e) => e.code === 'too_many_connections');
    expect(errors.length).toBe(refusals.length);
    console.log(
      `4430 retry: hint ${hint} ms, ${refusals.length} refusals, waits ${waits.join('/')} ms, open after the slot freed`,
    );
  });

  it('sends the default 5 s hint without a broker hint, and the client waits for it', async () => {
    const server = await f.hub({ maxConnectionsPerUser: 1 });
    const first = f.client({ url: server.url, token: tokenFor('u1') });
    await eventually(() => first.status.state === 'open', 'the first tab is open');

    const second = f.client({ url: server.url, token: tokenFor('u1') });
    const log = record(second);
    await eventually(() => second.status.state === 'reconnecting', 'the second tab was refused', 10_000);

    expect(second.status).toMatchObject({ state: 'reconnecting', lastClose: { code: 4430 } });
    expect((second.status as Reconnecting).delayMs).toBeGreaterThanOrEqual(5_000);
    expect(log.errors.map((e) => e.code)).toContain('too_many_connections');
  });
});
