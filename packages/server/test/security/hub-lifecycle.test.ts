import { NotificationHub } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { testAuthenticate, useHarness } from '../helpers/harness.js';
import { describeCost, expectBounded, exposeGc, footprint, startControl } from './guard.js';
import { markerLogger } from './marker.js';

/**
 * Issue 10, defect 5 and the TLS warning: `hub.close()` called twice returns the same promise (as
 * server.md says), and a production hub whose `allowedOrigins` lists plain-http origins other
 * than localhost says so once, at construction.
 */

exposeGc();

describe('hub lifecycle', () => {
  const harness = useHarness();

  it('returns the same promise from every close() call', async () => {
    const fx = await harness.start();
    const control = await startControl(harness, fx);
    const before = await footprint();
    const other = await harness.start();
    const client = await harness.subscriber(other, 'leaving', ['user:leaving']);

    const first = other.hub.close();
    const second = other.hub.close();
    await first;
    const third = other.hub.close();
    const closed = await client.waitClose();
    const { delivered } = await control.finish();
    const after = await footprint();

    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(closed.code).toBe(4503);
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(
      describeCost(
        'close() twice',
        before,
        after,
        `one promise for three calls; another hub's control got ${delivered}`,
      ),
    );
  });

  it('warns once at construction about http:// origins other than localhost in production', async () => {
    const fx = await harness.start();
    const control = await startControl(harness, fx);
    const before = await footprint();
    const env = process.env.NODE_ENV;
    const warnings = (allowedOrigins: readonly string[], nodeEnv: string): string[] => {
      process.env.NODE_ENV = nodeEnv;
      const logger = markerLogger();
      const hub = new NotificationHub({ authenticate: testAuthenticate, allowedOrigins, logger });
      void hub.close();
      return logger.lines.filter((l) => l.startsWith('warn'));
    };
    let production: string[];
    let development: string[];
    let localOnly: string[];
    try {
      production = warnings(
        [
          'https://portal.example',
          'http://ward.example:8080',
          'http://localhost:5173',
          'http://127.0.0.1',
          'http://[::1]:3000',
        ],
        'production',
      );
      development = warnings(['http://ward.example:8080'], 'development');
      localOnly = warnings(['http://localhost:5173', 'https://portal.example'], 'production');
    } finally {
      process.env.NODE_ENV = env;
    }
    const { delivered } = await control.finish();
    const after = await footprint();

    expect(production).toHaveLength(1);
    expect(production[0]).toContain('"origins":["http://ward.example:8080"]');
    expect(development).toEqual([]);
    expect(localOnly).toEqual([]);
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(describeCost('TLS warning', before, after, `${production[0]}; control got ${delivered}`));
  });
});
