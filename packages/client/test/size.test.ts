import { createContext, runInContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bundleClient } from './helpers/bundle.js';

/**
 * 6,869 bytes gzip on 2026-12-06 with the protocol 2 handshake and its protocol 1 fallback (6,646
 * before), plus 64 bytes of headroom (the issue asks for 8 KB). Server frames are checked by the
 * lean decoder of `@wardcast/protocol/lean`, not the zod schemas (which took the core to ~12.8 KB):
 * keep zod out of the client.
 */
const BUDGET_GZIP = 6_869 + 64;
const WATCHED = [
  'window',
  'document',
  'WebSocket',
  'localStorage',
  'sessionStorage',
  'navigator',
  'addEventListener',
  'setTimeout',
  'setInterval',
  'queueMicrotask',
] as const;

describe('client core bundle', () => {
  it('fits the size budget when minified and gzipped with every dependency inside', async () => {
    const code = await bundleClient('esm');
    const min = Buffer.byteLength(code);
    const gzip = gzipSync(code, { level: 9 }).length;
    console.log(`client core: ${min} bytes min, ${gzip} bytes gzip`);
    expect(code).toContain('createNotificationClient');
    // zod's internals (`_zod`, `$ZodType`...) would mean the schemas came back in.
    expect(code).not.toMatch(/_zod|\$Zod/);
    expect(min).toBeGreaterThan(1_000);
    expect(gzip).toBeLessThanOrEqual(BUDGET_GZIP);
  });

  it('has no side effects at import: no window, document, WebSocket, storage or timers', async () => {
    const code = await bundleClient('iife', 'WardcastClient');
    const touched = new Set<string>();
    let timers = 0;
    const countTimer = () => {
      timers++;
      return 0;
    };
    // A bare global scope (builtins come from the new context) where reading any browser global,
    // timer or storage is recorded; the timers exist and count calls.
    const globals: Record<string, unknown> = { console, TextDecoder, TextEncoder };
    for (const name of WATCHED) {
      const value =
        name === 'setTimeout' || name === 'setInterval' || name === 'queueMicrotask' ? countTimer : undefined;
      Object.defineProperty(globals, name, {
        get() {
          touched.add(name);
          return value;
        },
      });
    }
    const context = createContext(globals);

    expect(() => runInContext(code, context)).not.toThrow();

    const api = globals.WardcastClient as Record<string, unknown> | undefined;
    expect(typeof api?.createNotificationClient).toBe('function');
    expect(typeof api?.backoffDelay).toBe('function');
    expect([...touched]).toEqual([]);
    // The watch works: using the client does read them.
    const create = api?.createNotificationClient as (options: object) => { close(): void };
    create({ url: 'ws://127.0.0.1:9', token: 't', autoConnect: false }).close();
    expect(touched.has('WebSocket')).toBe(true);
    expect(timers).toBe(0);
  });
});
