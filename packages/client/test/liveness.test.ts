import { createNotificationClient, type WebSocketLike } from '@wardcast/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** A socket driven by hand: the test opens it and pushes frames into it. */
class HandSocket implements WebSocketLike {
  static all: HandSocket[] = [];
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  closed: number | undefined;
  constructor(readonly url: string) {
    HandSocket.all.push(this);
  }
  send(): void {}
  close(code?: number): void {
    this.closed = code ?? 1000;
  }
  push(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  HandSocket.all = [];
});
afterEach(() => {
  vi.useRealTimers();
});

/** pingIntervalMs 1000 + pongTimeoutMs 500: a link with no frame for 1500 ms is dead. */
async function openClient() {
  const client = createNotificationClient({
    url: 'ws://hub',
    token: 't',
    WebSocket: HandSocket,
    pingIntervalMs: 1_000,
    pongTimeoutMs: 500,
    retryDelay: () => 60_000,
  });
  await vi.advanceTimersByTimeAsync(0);
  const ws = HandSocket.all[0] as HandSocket;
  ws.readyState = 1;
  ws.onopen?.({});
  await vi.advanceTimersByTimeAsync(0);
  ws.push({ type: 'authenticated', userId: 'u1' });
  expect(client.status.state).toBe('open');
  return { client, ws };
}

describe('liveness deadline', () => {
  it('counts from the last frame: frames keep the link, silence for the deadline ends it', async () => {
    const { client, ws } = await openClient();
    // A frame every 1200 ms (longer than the ping interval, shorter than the deadline) for 6 s.
    for (let t = 0; t < 6_000; t += 1_200) {
      await vi.advanceTimersByTimeAsync(1_200);
      ws.push({ type: 'pong' });
    }
    expect(client.status.state).toBe('open');
    // Then silence: dead 1500 ms after the last frame, not before.
    await vi.advanceTimersByTimeAsync(1_499);
    expect(client.status.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(client.status).toMatchObject({
      state: 'reconnecting',
      lastClose: { code: 1006, reason: 'heartbeat timeout' },
    });
    expect(ws.closed).toBe(4000);
    client.close();
  });

  it('does not let frames of an earlier socket keep a new one alive', async () => {
    const { client, ws } = await openClient();
    ws.onclose?.({ code: 4503, reason: 'restart' });
    expect(client.status.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(60_000);
    const next = HandSocket.all[1] as HandSocket;
    expect(next).toBeDefined();
    // Opened but silent: dead one deadline after it was created.
    await vi.advanceTimersByTimeAsync(1_500);
    expect(client.status).toMatchObject({ state: 'reconnecting', lastClose: { reason: 'heartbeat timeout' } });
    client.close();
  });
});
