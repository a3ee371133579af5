import {
  backoffDelay,
  type ClientStatus,
  type CloseInfo,
  createNotificationClient,
  DEFAULT_BACKOFF,
  defaultShouldRetry,
  type WebSocketConstructor,
} from '@wardcast/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const ALMOST_ONE = () => 0.999999;
const ZERO = () => 0;

describe('backoffDelay', () => {
  it('doubles the ceiling from 500 ms per attempt and caps it at 30 s', () => {
    const highest = Array.from({ length: 10 }, (_, attempt) => backoffDelay(attempt, DEFAULT_BACKOFF, ALMOST_ONE));
    // Ceilings 500, 1000, 2000, 4000, 8000, 16000, 30000 (32000 capped), 30000, ...: the delay is just under each.
    expect(highest).toEqual([499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999, 29999]);
    expect(backoffDelay(1_000, DEFAULT_BACKOFF, ALMOST_ONE)).toBe(29999);
  });

  it('uses the default settings when none are given', () => {
    expect(DEFAULT_BACKOFF).toEqual({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 });
    expect(backoffDelay(2, undefined, ALMOST_ONE)).toBe(1999);
  });

  it('gives 0 when the random source gives 0, at every attempt', () => {
    for (let attempt = 0; attempt < 12; attempt++) expect(backoffDelay(attempt, DEFAULT_BACKOFF, ZERO)).toBe(0);
  });

  it('keeps every jittered delay inside [0, ceiling)', () => {
    const randoms = [0, 1e-9, 0.25, 0.5, 0.75, 0.999999];
    for (let attempt = 0; attempt < 10; attempt++) {
      const ceiling = Math.min(30_000, 500 * 2 ** attempt);
      for (const r of randoms) {
        const delay = backoffDelay(attempt, DEFAULT_BACKOFF, () => r);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
      }
    }
  });

  it('spreads delays with Math.random when no random source is injected', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(3));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(4_000);
    }
    expect(new Set(delays).size).toBeGreaterThan(20);
  });

  it('honours custom initial delay, factor and cap', () => {
    const options = { initialDelayMs: 100, factor: 3, maxDelayMs: 1_000 };
    const highest = [0, 1, 2, 3].map((attempt) => backoffDelay(attempt, options, ALMOST_ONE));
    expect(highest).toEqual([99, 299, 899, 999]);
  });

  it('treats a negative attempt like the first one', () => {
    expect(backoffDelay(-3, DEFAULT_BACKOFF, ALMOST_ONE)).toBe(499);
  });
});

describe('defaultShouldRetry', () => {
  it('stops on fatal codes and retries the others', () => {
    const retry = (code: number) => defaultShouldRetry({ code, reason: '' });
    expect([4400, 4401, 4403, 4410, 1008, 1009].map(retry)).toEqual([false, false, false, false, false, false]);
    expect([1000, 1001, 1006, 4408, 4419, 4429, 4430, 4440, 4500, 4503].map(retry)).toEqual(Array(10).fill(true));
  });
});

/**
 * A WebSocket whose constructor always fails, as when the URL cannot be connected to: each call is
 * one connection attempt. It lets fake timers step through the client's reconnect schedule exactly.
 */
function refusingSocket(attempts: number[]): WebSocketConstructor {
  return class {
    constructor() {
      attempts.push(Date.now());
      throw new Error('connection refused');
    }
  } as unknown as WebSocketConstructor;
}

describe('reconnect schedule', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits exactly what a custom retryDelay returns before each attempt', async () => {
    const attempts: number[] = [];
    const asked: number[] = [];
    const schedule = [100, 250, 1_000];
    const client = createNotificationClient({
      url: 'ws://127.0.0.1:9/never',
      token: 't',
      WebSocket: refusingSocket(attempts),
      retryDelay: (attempt) => {
        asked.push(attempt);
        return schedule[attempt] ?? 5_000;
      },
    });
    const statuses: ClientStatus[] = [];
    client.on('status', (s) => statuses.push(s));
    client.on('error', () => {});

    await vi.advanceTimersByTimeAsync(0);
    expect(attempts).toEqual([0]);
    await vi.advanceTimersByTimeAsync(99);
    expect(attempts).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toEqual([0, 100]);
    await vi.advanceTimersByTimeAsync(249);
    expect(attempts).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toEqual([0, 100, 350]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attempts).toEqual([0, 100, 350, 1_350]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(attempts).toEqual([0, 100, 350, 1_350, 6_350]);

    expect(asked).toEqual([0, 1, 2, 3, 4]);
    const reconnecting = statuses.filter((s) => s.state === 'reconnecting');
    expect(reconnecting.map((s) => s.delayMs)).toEqual([100, 250, 1_000, 5_000, 5_000]);
    expect(reconnecting.map((s) => s.attempt)).toEqual([1, 2, 3, 4, 5]);
    client.close();
    expect(client.status).toMatchObject({ state: 'closed', reason: { fatal: true } });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts).toHaveLength(5);
  });

  it('stops retrying as soon as a custom shouldRetry says no', async () => {
    const attempts: number[] = [];
    const seen: CloseInfo[] = [];
    const client = createNotificationClient({
      url: 'ws://127.0.0.1:9/never',
      token: 't',
      WebSocket: refusingSocket(attempts),
      retryDelay: () => 10,
      shouldRetry: (close) => {
        seen.push(close);
        return seen.length < 3;
      },
    });
    client.on('error', () => {});
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attempts).toHaveLength(3);
    expect(seen).toHaveLength(3);
    expect(seen[0]).toEqual({ code: 1006, reason: 'could not open socket' });
    expect(client.status).toEqual({
      state: 'closed',
      reason: { code: 1006, reason: 'could not open socket', fatal: true },
    });
    client.close();
  });

  it('uses the backoff option in the default retryDelay', async () => {
    const attempts: number[] = [];
    const client = createNotificationClient({
      url: 'ws://127.0.0.1:9/never',
      token: 't',
      WebSocket: refusingSocket(attempts),
      backoff: { initialDelayMs: 40, maxDelayMs: 100, factor: 2 },
    });
    const delays: number[] = [];
    client.on('status', (s) => {
      if (s.state === 'reconnecting') delays.push(s.delayMs);
    });
    client.on('error', () => {});
    await vi.advanceTimersByTimeAsync(2_000);
    client.close();
    // Ceilings 40, 80, 100, 100, ...: each delay is below its ceiling, and attempts keep coming.
    expect(delays.length).toBeGreaterThan(10);
    const ceilings = delays.map((_, attempt) => Math.min(100, 40 * 2 ** attempt));
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(ceilings[i] as number);
    });
  });
});
