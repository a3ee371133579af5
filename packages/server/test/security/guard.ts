import type { Server } from 'node:http';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'vitest';
import type { TestClient } from '../helpers/client.js';
import { eventually, type Fixture, type Harness } from '../helpers/harness.js';

/** Heap, RSS and open handles of this process (the hub runs in it), after a GC when exposed. */
export interface Footprint {
  readonly heapUsed: number;
  readonly rss: number;
  /** Active handles by type (sockets, timers, servers), from `process.getActiveResourcesInfo()`. */
  readonly handles: Readonly<Record<string, number>>;
}

const MiB = 1024 * 1024;

/** Measures the process footprint; runs the GC first when node was started with `--expose-gc`. */
export async function footprint(): Promise<Footprint> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 2; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const handles: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) handles[type] = (handles[type] ?? 0) + 1;
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss, handles };
}

/**
 * A control client that keeps receiving while an attack runs: it subscribes to its own topic and a
 * publisher sends it a notification every `everyMs`. `finish()` stops publishing and asserts that
 * every notification reached it, in order, and that it was never disconnected.
 */
export interface Control {
  readonly client: TestClient;
  /** Stops publishing; asserts the control client got every notification, in order, still connected. */
  finish(): Promise<{ readonly delivered: number }>;
}

/** Starts a {@link Control} on `fixture`. */
export async function startControl(harness: Harness, fixture: Fixture, everyMs = 20): Promise<Control> {
  const client = await harness.subscriber(fixture, 'control-user', ['user:control-user']);
  const sent: string[] = [];
  let stopped = false;
  let failure: unknown;
  const publishing = (async () => {
    for (let i = 0; !stopped; i++) {
      const id = `control-${i}`;
      try {
        await fixture.hub.publish('user:control-user', { kind: 'custom', id, payload: { i } });
        sent.push(id);
      } catch (error) {
        failure = error;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    client,
    async finish() {
      stopped = true;
      await publishing;
      expect(failure, 'the control publisher never failed').toBeUndefined();
      const last = sent.at(-1);
      if (last !== undefined)
        await eventually(() => received(client).includes(last), 'control got the last one', 15_000);
      expect(client.closeInfo, 'the control client stayed connected').toBeUndefined();
      expect(received(client)).toEqual(sent);
      return { delivered: sent.length };
    },
  };
}

function received(client: TestClient): string[] {
  return client.framesOf('notification').map((n) => n.id);
}

/**
 * Asserts the hub did not keep what an attack cost: heap and RSS grew by at most the given MiB
 * since `before`, and no handle type has more handles than before (plus `slack`).
 */
export function expectBounded(
  before: Footprint,
  after: Footprint,
  limits: { readonly heapMiB: number; readonly rssMiB: number; readonly slack?: number },
): void {
  const heap = (after.heapUsed - before.heapUsed) / MiB;
  const rss = (after.rss - before.rss) / MiB;
  expect(heap, `heap grew by ${heap.toFixed(1)} MiB`).toBeLessThan(limits.heapMiB);
  expect(rss, `rss grew by ${rss.toFixed(1)} MiB`).toBeLessThan(limits.rssMiB);
  const slack = limits.slack ?? 2;
  for (const [type, count] of Object.entries(after.handles)) {
    expect(count, `${type} handles`).toBeLessThanOrEqual((before.handles[type] ?? 0) + slack);
  }
}

/** One line for the test output: what an attack cost. */
export function describeCost(label: string, before: Footprint, after: Footprint, extra = ''): string {
  const heap = ((after.heapUsed - before.heapUsed) / MiB).toFixed(1);
  const rss = ((after.rss - before.rss) / MiB).toFixed(1);
  return `[security] ${label}: heap ${heap} MiB, rss ${rss} MiB, handles ${JSON.stringify(after.handles)}${extra ? `; ${extra}` : ''}`;
}

/**
 * Makes `footprint()` collect garbage first even when node was started without `--expose-gc`
 * (sets `globalThis.gc` for this test process only). Call it at the top of a test file.
 */
export function exposeGc(): void {
  if ((globalThis as { gc?: () => void }).gc) return;
  v8.setFlagsFromString('--expose-gc');
  (globalThis as { gc?: () => void }).gc = runInNewContext('gc') as () => void;
}

/** Sockets `server` holds open right now (`server.getConnections()`). */
export function openConnections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, count) => (err ? reject(err) : resolve(count))));
}

/**
 * Samples the heap every `everyMs` until `stop()`; `stop()` resolves with the highest `heapUsed`
 * seen. For attacks whose cost would be held only while they run.
 */
export function sampleHeap(everyMs = 25): { stop(): number } {
  let peak = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().heapUsed);
    },
  };
}

/** Waits until `server` holds exactly `count` sockets; rejects with the last count after `timeoutMs`. */
export async function waitForConnections(server: Server, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await openConnections(server);
    if (open === count) return;
    if (Date.now() > deadline)
      throw new Error(`server still holds ${open} sockets (expected ${count}) after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
