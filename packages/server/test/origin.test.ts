import { describe, expect, it } from 'vitest';
import { tokenFor, useHarness } from './helpers/harness.js';

const harness = useHarness();

describe('Origin allowlist', () => {
  it('upgrades a request whose Origin is in allowedOrigins', async () => {
    const fx = await harness.start({ allowedOrigins: ['https://portal.example-hospital.org'] });
    const client = harness.connect(fx, { origin: 'https://portal.example-hospital.org', token: tokenFor('alice') });

    await client.opened;
    const authenticated = await client.nextFrame('authenticated');

    expect(authenticated.userId).toBe('alice');
  });

  it('refuses a foreign Origin with HTTP 403 before upgrading', async () => {
    const fx = await harness.start({ allowedOrigins: ['https://portal.example-hospital.org'] });
    const connections = harness.record(fx, 'connection');
    const client = harness.connect(fx, { origin: 'https://evil.example', token: tokenFor('alice') });

    const status = await client.rejected;

    expect(status).toBe(403);
    expect(connections).toEqual([]);
  });

  it('compares origins exactly, refusing one that differs only by port', async () => {
    const fx = await harness.start({ allowedOrigins: ['https://portal.example-hospital.org'] });
    const client = harness.connect(fx, { origin: 'https://portal.example-hospital.org:8443' });

    expect(await client.rejected).toBe(403);
  });

  it('upgrades a request without an Origin header (a non-browser client)', async () => {
    const fx = await harness.start({ allowedOrigins: ['https://portal.example-hospital.org'] });
    const client = harness.connect(fx, { token: tokenFor('alice') });

    await client.opened;
    const welcome = await client.nextFrame('welcome');

    expect(welcome.authenticated).toBe(true);
  });

  it('asks an allowedOrigins function and refuses with 403 when it returns false', async () => {
    const asked: (string | undefined)[] = [];
    const fx = await harness.start({
      allowedOrigins: (origin) => {
        asked.push(origin);
        return origin?.endsWith('.example-hospital.org') === true;
      },
    });
    const good = harness.connect(fx, { origin: 'https://ward3.example-hospital.org' });
    const bad = harness.connect(fx, { origin: 'https://example-hospital.org.evil.example' });

    await good.opened;
    const status = await bad.rejected;

    expect(status).toBe(403);
    expect(asked.sort()).toEqual(['https://example-hospital.org.evil.example', 'https://ward3.example-hospital.org']);
  });
});

describe('default same-origin policy', () => {
  it('upgrades a request whose Origin matches the Host header', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx, { origin: `http://127.0.0.1:${fx.port}` });

    await client.opened;
    const welcome = await client.nextFrame('welcome');

    expect(welcome.type).toBe('welcome');
  });

  it('refuses with 403 a request whose Origin is another host', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx, { origin: 'http://evil.example' });

    expect(await client.rejected).toBe(403);
  });

  it('refuses with 403 a request whose Origin is the same host on another port', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx, { origin: `http://127.0.0.1:${fx.port + 1}` });

    expect(await client.rejected).toBe(403);
  });

  it('refuses with 403 a request whose Origin is not a URL', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx, { origin: 'null' });

    expect(await client.rejected).toBe(403);
  });

  it('upgrades a request without an Origin header', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx);

    await client.opened;

    expect((await client.nextFrame('welcome')).type).toBe('welcome');
  });
});
