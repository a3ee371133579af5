import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './helpers/build.js';
import { useCli } from './helpers/cli.js';
import { nextEvent, tokenFor, useHubs } from './helpers/hub.js';

const hubs = useHubs();
const cli = useCli();

beforeAll(ensureBuilt, 120_000);

describe('wardcast send', () => {
  it('delivers a test notification to a listener and prints where it went', async () => {
    const f = await hubs.start();
    const subscribed = nextEvent(f.hub, 'subscribe', (e) => e.topic === 'user:u1');
    const listener = cli.spawn(['listen', '--url', f.wsUrl, '--token', tokenFor('u1'), '--topic', 'user:u1']);
    await listener.causes(subscribed);

    const sent = await cli.run([
      'send',
      '--url',
      f.httpUrl,
      '--token',
      tokenFor('u1'),
      '--title',
      'Ping',
      '--message',
      'from the CLI',
      '--priority',
      'urgent',
    ]);
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    expect(sent.stdout).toMatch(/^sent \S+ to user:u1 \(seq 1, epoch \S+\)$/);

    const line = await listener.line('stdout', 'Ping');
    expect(line).toMatch(/user:u1 {2}#1 {2}custom {2}urgent {2}Ping: from the CLI$/);
  });

  it('sends to another user with --user when the hub allows it, and prints JSON with --json', async () => {
    const f = await hubs.start({ http: { enableTestNotifications: true, canSendTestTo: (p) => p.userId === 'admin' } });
    const res = await cli.run(['send', '--url', f.httpUrl, '--token', tokenFor('admin'), '--user', 'dr-lee', '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      topic: 'user:dr-lee',
      id: expect.any(String),
      epoch: expect.any(String),
      seq: 1,
      duplicate: false,
    });
  });

  it('reads the token from WARDCAST_TOKEN and accepts the ws:// URL listen uses', async () => {
    const f = await hubs.start();
    const res = await cli.run(['send', '--url', f.wsUrl], { WARDCAST_TOKEN: tokenFor('u7') });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('to user:u7');
  });

  it('exits 8 when the hub does not let the caller send to another user', async () => {
    const f = await hubs.start();
    const res = await cli.run(['send', '--url', f.httpUrl, '--token', tokenFor('u1'), '--user', 'u2']);
    expect(res.code).toBe(8);
    expect(res.stderr).toContain('answered HTTP 403: forbidden (you may only send test notifications to yourself)');
    expect(res.stderr).toContain('[forbidden]');
  });

  it('exits 10 and names the option when the hub does not serve test notifications', async () => {
    const f = await hubs.start({ http: {} });
    const res = await cli.run(['send', '--url', f.httpUrl, '--token', tokenFor('u1')]);
    expect(res.code).toBe(10);
    expect(res.stderr).toContain('answered HTTP 404');
    expect(res.stderr).toContain('enableTestNotifications');
  });

  it('exits 10 with the hub’s reason when it rejects the body', async () => {
    const f = await hubs.start();
    const res = await cli.run(['send', '--url', f.httpUrl, '--token', tokenFor('u1'), '--title', '']);
    expect(res.code).toBe(10);
    expect(res.stderr).toMatch(/HTTP 400: bad_request \(invalid body: title: .+\)/);
  });
});

describe('wardcast stats', () => {
  it('prints the counts, status first', async () => {
    const f = await hubs.start();
    const subscribed = nextEvent(f.hub, 'subscribe', (e) => e.topic === 'user:u1');
    const listener = cli.spawn(['listen', '--url', f.wsUrl, '--token', tokenFor('u1')]);
    await listener.causes(subscribed);

    const res = await cli.run(['stats', '--url', f.httpUrl]);
    expect(res.code).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toMatch(/^status +active$/);
    expect(lines).toContainEqual(expect.stringMatching(/^connected_clients +1$/));
    expect(lines).toContainEqual(expect.stringMatching(/^subscriptions +1$/));
  });

  it('prints one JSON object with --json', async () => {
    const f = await hubs.start();
    await f.hub.publish('user:u1', { kind: 'custom', priority: 'routine', payload: {} });
    const res = await cli.run(['stats', '--url', f.httpUrl, '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ connected_clients: 0, published: 1, status: 'active' });
  });

  it('sends --token to a hub that serves stats to authenticated callers only', async () => {
    const f = await hubs.start({ http: { stats: 'authenticated' } });
    const without = await cli.run(['stats', '--url', f.httpUrl]);
    expect(without.code).toBe(6);
    expect(without.stderr).toContain('this endpoint needs --token');
    const withToken = await cli.run(['stats', '--url', f.httpUrl, '--token', tokenFor('u1'), '--json']);
    expect(withToken.code).toBe(0);
  });

  it('keeps a basePath prefix of the URL', async () => {
    const f = await hubs.start({ http: { basePath: '/api' } });
    const res = await cli.run(['stats', '--url', `${f.httpUrl}/api/`, '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: 'active' });
  });
});
