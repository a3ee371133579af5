import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isWardcastError, NotificationHub } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { eventually, testAuthenticate, tokenFor, useHarness, waitForEvent } from './helpers/harness.js';

const harness = useHarness();

describe('registry cleanup', () => {
  it('shows no connections, users, topics or subscriptions once every client disconnected', async () => {
    const fx = await harness.start({ authorize: () => true });
    const clients = [
      await harness.subscriber(fx, 'alice', ['user:alice', 'patient:p1', 'broadcast']),
      await harness.subscriber(fx, 'alice', ['user:alice']),
      await harness.subscriber(fx, 'bob', ['user:bob', 'patient:p1']),
      harness.connect(fx, { label: 'anonymous' }),
    ];
    await clients[3]?.nextFrame('welcome');
    expect(fx.hub.stats()).toMatchObject({ connections: 4, users: 2, topics: 4, subscriptions: 6 });

    for (const c of clients) c.ws.close();
    await eventually(() => fx.hub.stats().connections === 0, 'every connection was freed');

    expect(fx.hub.stats()).toMatchObject({
      connections: 0,
      authenticatedConnections: 0,
      users: 0,
      topics: 0,
      subscriptions: 0,
    });
    expect(fx.hub.connections()).toEqual([]);
  });

  it('frees a connection that the client terminated without a closing handshake', async () => {
    const fx = await harness.start();
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);
    const gone = waitForEvent(fx.hub, 'disconnect');

    client.terminate();
    const event = await gone;

    expect(event.code).toBe(1006);
    expect(fx.hub.stats()).toMatchObject({ connections: 0, users: 0, topics: 0 });
  });

  it('frees the user entry of a connection the hub refused for the per-user limit', async () => {
    const fx = await harness.start({ maxConnectionsPerUser: 1 });
    const first = await harness.connectAs(fx, 'alice');
    const refused = harness.connect(fx, { token: tokenFor('alice') });
    await refused.waitClose();
    await eventually(() => fx.hub.stats().connections === 1, 'the refused connection was freed');

    first.ws.close();
    await eventually(() => fx.hub.stats().connections === 0, 'the first connection was freed');

    expect(fx.hub.stats().users).toBe(0);
  });
});

describe('disconnectUser', () => {
  it("closes every connection of the user with 4410 and leaves other users' connections open", async () => {
    const fx = await harness.start();
    const tabs = [await harness.connectAs(fx, 'alice'), await harness.connectAs(fx, 'alice')];
    const bob = await harness.connectAs(fx, 'bob');

    const count = fx.hub.disconnectUser('alice');
    const codes = await Promise.all(tabs.map(async (t) => (await t.waitClose()).code));
    await bob.roundTrip();

    expect(count).toBe(2);
    expect(codes).toEqual([4410, 4410]);
    expect(bob.closeInfo).toBeUndefined();
  });
});

describe('close()', () => {
  it('closes every client with 4503', async () => {
    const fx = await harness.start();
    const clients = [
      await harness.subscriber(fx, 'alice', ['user:alice']),
      await harness.connectAs(fx, 'bob'),
      harness.connect(fx, { label: 'anonymous' }),
    ];
    await clients[2]?.nextFrame('welcome');

    await fx.hub.close();
    const codes = await Promise.all(clients.map(async (c) => (await c.waitClose()).code));

    expect(codes).toEqual([4503, 4503, 4503]);
    expect(fx.hub.stats().connections).toBe(0);
  });

  it('rejects publish after close with hub_closed', async () => {
    const fx = await harness.start();
    await fx.hub.close();

    const error: unknown = await fx.hub.publish('user:alice', { kind: 'custom' }).catch((e: unknown) => e);

    expect(isWardcastError(error, 'hub_closed')).toBe(true);
    expect(fx.hub.closed).toBe(true);
  });

  it('refuses an upgrade after close with HTTP 503', async () => {
    const fx = await harness.start({ mount: 'handleUpgrade' });
    await fx.hub.close();

    const client = harness.connect(fx, { token: tokenFor('alice') });

    expect(await client.rejected).toBe(503);
  });

  it('refuses an upgrade to the attached path after close with HTTP 503', async () => {
    const fx = await harness.start();
    await fx.hub.close();

    const client = harness.connect(fx, { token: tokenFor('alice') });

    expect(await client.rejected).toBe(503);
  });

  it('stops handling upgrades once the function returned by attach() was called', async () => {
    const fx = await harness.start({ mount: 'none' });
    const detach = fx.hub.attach(fx.server);
    detach();

    const client = harness.connect(fx, { token: tokenFor('alice') });

    // Without an upgrade listener, Node hands the request to the app's handler, which answers 404.
    expect(await client.rejected).toBe(404);
  });

  it('can be called more than once', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    await Promise.all([fx.hub.close(), fx.hub.close()]);
    await fx.hub.close();

    expect((await client.waitClose()).code).toBe(4503);
  });

  it('terminates clients that do not answer the close frame within closeTimeoutMs', async () => {
    const fx = await harness.start({ closeTimeoutMs: 200 });
    const stuck = await harness.connectAs(fx, 'alice');
    const disconnect = waitForEvent(fx.hub, 'disconnect');
    stuck.pauseReading();

    const started = Date.now();
    await fx.hub.close();
    const event = await disconnect;

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(event.code).toBe(4503);
    expect(fx.hub.stats().connections).toBe(0);
  });

  it('stops calling listeners after close', async () => {
    const fx = await harness.start();
    const seen: string[] = [];
    fx.hub.on('publish', (e) => seen.push(e.id));
    await fx.hub.close();

    await fx.hub.publish('user:alice', { kind: 'custom', id: 'late' }).catch(() => undefined);

    expect(seen).toEqual([]);
  });

  it('leaves no handles behind: a process that closes the hub and its server exits by itself', async () => {
    const script = fileURLToPath(new URL('./fixtures/close-no-handles.mjs', import.meta.url));
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    if (!existsSync(dist)) throw new Error(`build the packages first (pnpm -r --filter "./packages/*" build): ${dist}`);

    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`child still running after 5 s: something keeps the event loop alive\n${stdout}${stderr}`));
      }, 5_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });

    expect(stderr).toBe('');
    expect(exitCode).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ closeCodes: [4503, 4503, 4503] });
  });

  it('refuses a socket handed to open() after close with 4503', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate });
    await hub.close();
    const closes: number[] = [];

    hub.open(
      {
        send() {},
        sendEncoded() {},
        bufferedAmount: 0,
        close: (code) => closes.push(code),
        terminate() {},
        ping() {},
      },
      { headers: {} },
    );

    expect(closes).toEqual([4503]);
  });
});
