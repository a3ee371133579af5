import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './helpers/build.js';
import { useCli } from './helpers/cli.js';
import { closedPort, nextEvent, TOKEN_PREFIX, tokenFor, useHubs } from './helpers/hub.js';

const hubs = useHubs();
const cli = useCli();

beforeAll(ensureBuilt, 120_000);

describe('usage', () => {
  it('prints help and the version', async () => {
    const help = await cli.run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: wardcast <command> [flags]');
    for (const command of ['listen', 'send', 'stats']) expect(help.stdout).toContain(`  ${command} `);

    const listenHelp = await cli.run(['listen', '--help']);
    expect(listenHelp.code).toBe(0);
    expect(listenHelp.stdout).toContain('--since [<topic>=]<epoch>:<seq>');
    expect(await cli.run(['help', 'send'])).toMatchObject({ code: 0, stdout: expect.stringContaining('--user <id>') });

    const version = await cli.run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 for an unknown command, an unknown flag, a positional argument or a missing flag', async () => {
    const cases: [string[], string][] = [
      [['frobnicate'], 'unknown command "frobnicate"'],
      [[], 'Usage: wardcast <command>'],
      [['--verbose'], 'unknown flag --verbose'],
      [['stats', '--url', 'http://127.0.0.1:9', '--verbose'], 'unknown flag --verbose for "wardcast stats"'],
      [['listen', '--url', 'ws://127.0.0.1:9', `${TOKEN_PREFIX}u1`], 'takes no positional arguments'],
      [['listen', '--token', tokenFor('u1')], '--url is required'],
      [['send', '--url', 'http://127.0.0.1:9'], '--token is required (or set WARDCAST_TOKEN)'],
      [
        ['listen', '--url', 'ws://127.0.0.1:9', '--token', tokenFor('u1'), '--topic', 'bad topic'],
        'is not a topic name',
      ],
      [['listen', '--url', 'ws://127.0.0.1:9', '--token', tokenFor('u1'), '--phi', 'some'], '--phi must be one of'],
      [['listen', '--url', 'ws://127.0.0.1:9', '--token', tokenFor('u1'), '--since', 'e:1'], '--since needs --topic'],
      [['send', '--url', 'http://127.0.0.1:9', '--token', tokenFor('u1'), '--priority', 'stat'], '--priority must be'],
      [['stats', '--url', 'http://127.0.0.1:9', '--timeout', 'soon'], '--timeout must be'],
    ];
    const results = await Promise.all(cases.map(([args]) => cli.run(args)));
    cases.forEach(([args, message], i) => {
      expect(results[i]?.code, args.join(' ')).toBe(2);
      expect(results[i]?.stderr, args.join(' ')).toContain(message);
    });
  });

  it('exits 3 for a URL that is not one, or not ws(s)/http(s), in every command', async () => {
    const token = tokenFor('u1');
    const cases: [string[], string][] = [
      [['listen', '--url', 'not a url', '--token', token], '--url "not a url" is not a URL'],
      [['send', '--url', 'ftp://hub.example.org', '--token', token], 'is not a ws:, wss:, http: or https: URL'],
      [['stats', '--url', 'hub.example.org:3000'], 'is not a ws:, wss:, http: or https: URL'],
      [['listen', '--url', 'ws://127.0.0.1:9', '--token', token, '--origin', 'nope'], '--origin "nope" is not a URL'],
    ];
    const results = await Promise.all(cases.map(([args]) => cli.run(args)));
    cases.forEach(([args, message], i) => {
      expect(results[i]?.code, args.join(' ')).toBe(3);
      expect(results[i]?.stderr, args.join(' ')).toContain(`${message}`);
      expect(results[i]?.stderr, args.join(' ')).toContain('[bad_url]');
    });
  });
});

describe('connection failures', () => {
  it('exits 4 when nothing listens at the URL (ECONNREFUSED), for every command', async () => {
    const port = await closedPort();
    for (const args of [
      ['listen', '--url', `ws://127.0.0.1:${port}`, '--token', tokenFor('u1')],
      ['send', '--url', `http://127.0.0.1:${port}`, '--token', tokenFor('u1')],
      ['stats', '--url', `http://127.0.0.1:${port}`],
    ]) {
      const res = await cli.run(args);
      expect(res.code, args[0]).toBe(4);
      expect(res.stderr, args[0]).toContain(`127.0.0.1:${port}`);
      expect(res.stderr, args[0]).toContain('(ECONNREFUSED) [unreachable]');
      expect(res.stderr, args[0]).toContain('is the hub running');
    }
  });

  it('exits 5 when the hub refuses the origin (HTTP 403 at the upgrade, or on send)', async () => {
    const f = await hubs.start({ allowedOrigins: ['https://portal.example.org'] });
    const listen = await cli.run([
      'listen',
      '--url',
      f.wsUrl,
      '--token',
      tokenFor('u1'),
      '--origin',
      'https://evil.example',
    ]);
    expect(listen.code).toBe(5);
    expect(listen.stderr).toContain(
      'the hub refused the origin https://evil.example: HTTP 403 (origin not allowed) at the WebSocket upgrade',
    );
    expect(listen.stderr).toContain('[origin_refused]');

    const send = await cli.run([
      'send',
      '--url',
      f.httpUrl,
      '--token',
      tokenFor('u1'),
      '--origin',
      'https://evil.example',
    ]);
    expect(send.code).toBe(5);
    expect(send.stderr).toContain('the hub refused the origin https://evil.example');

    // The allowed origin gets in.
    const subscribed = nextEvent(f.hub, 'subscribe');
    const allowed = cli.spawn([
      'listen',
      '--url',
      f.wsUrl,
      '--token',
      tokenFor('u1'),
      '--origin',
      'https://portal.example.org/some/page',
    ]);
    await allowed.causes(subscribed);
  });

  it('exits 6 when the hub rejects the token (close 4401 on listen, HTTP 401 on send)', async () => {
    const f = await hubs.start();
    const listen = await cli.run(['listen', '--url', f.wsUrl, '--token', 'forged-token']);
    expect(listen.code).toBe(6);
    expect(listen.stderr).toContain('the hub rejected the token (close 4401 Unauthorized');
    expect(listen.stderr).toContain('[unauthorized]');
    expect(listen.stderr).not.toContain('forged-token');

    const send = await cli.run(['send', '--url', f.httpUrl, '--token', 'forged-token']);
    expect(send.code).toBe(6);
    expect(send.stderr).toContain('HTTP 401');
    expect(send.stderr).not.toContain('forged-token');
  });

  it('exits 7 when the hub shuts down while listening, and when it is shutting down already', async () => {
    const f = await hubs.start();
    const subscribed = nextEvent(f.hub, 'subscribe');
    const p = cli.spawn(['listen', '--url', f.wsUrl, '--token', tokenFor('u1')]);
    await p.causes(subscribed);
    const closing = f.hub.close();
    expect((await p.exit()).code).toBe(7);
    expect(p.text('stderr')).toContain('the hub is shutting down (close 4503 ServerShuttingDown');
    await closing;

    // The server still answers, the hub refuses upgrades with 503.
    const late = await cli.run(['listen', '--url', f.wsUrl, '--token', tokenFor('u1')]);
    expect(late.code).toBe(7);
    expect(late.stderr).toContain('the hub is shutting down: HTTP 503 (shutting down) at the WebSocket upgrade');
    const send = await cli.run(['send', '--url', f.httpUrl, '--token', tokenFor('u1')]);
    expect(send.code).toBe(7);
    expect(send.stderr).toContain('hub_closed');
  });

  it('exits 8 when the hub denies every topic', async () => {
    const f = await hubs.start();
    const res = await cli.run(['listen', '--url', f.wsUrl, '--token', tokenFor('u1'), '--topic', 'patient:p9']);
    expect(res.code).toBe(8);
    expect(res.stderr).toContain('subscription to patient:p9 denied (topic_denied)');
    expect(res.stderr).toContain('the hub denied every topic: patient:p9');
  });

  it('keeps listening when only some topics are denied', async () => {
    const f = await hubs.start();
    const subscribed = nextEvent(f.hub, 'subscribe', (e) => e.topic === 'user:u1');
    const p = cli.spawn(['listen', '--url', f.wsUrl, '--token', tokenFor('u1'), '--topic', 'patient:p9,user:u1']);
    await p.causes(subscribed);
    await p.line('stderr', 'subscription to patient:p9 denied');
    await f.hub.publish('user:u1', {
      kind: 'custom',
      priority: 'routine',
      payload: { title: 'still', message: 'here' },
    });
    await p.line('stdout', 'still: here');
  });

  it('exits 6 when the hub revokes the session while listening', async () => {
    const f = await hubs.start();
    const subscribed = nextEvent(f.hub, 'subscribe');
    const p = cli.spawn(['listen', '--url', f.wsUrl, '--token', tokenFor('u1'), '--reconnect']);
    await p.causes(subscribed);
    f.hub.disconnectUser('u1', 'signed out');
    expect((await p.exit()).code).toBe(6);
    expect(p.text('stderr')).toContain('the hub revoked this session (close 4410 SessionRevoked: signed out)');
  });

  it('exits 9 when the hub closes the connection for another reason (without --reconnect)', async () => {
    const f = await hubs.start({ maxConnectionsPerUser: 1 });
    const subscribed = nextEvent(f.hub, 'subscribe');
    const first = cli.spawn(['listen', '--url', f.wsUrl, '--token', tokenFor('u1')]);
    await first.causes(subscribed);
    const second = await cli.run(['listen', '--url', f.wsUrl, '--token', tokenFor('u1')]);
    expect(second.code).toBe(9);
    expect(second.stderr).toContain('the user has too many connections open (close 4430 TooManyConnections');
    expect(first.child.exitCode).toBe(null);
  });

  it('exits 10, not 7, when a full hub answers 503 server busy', async () => {
    const f = await hubs.start({ maxConnections: 1 });
    const subscribed = nextEvent(f.hub, 'subscribe');
    const first = cli.spawn(['listen', '--url', f.wsUrl, '--token', tokenFor('u1')]);
    await first.causes(subscribed);
    const second = await cli.run(['listen', '--url', f.wsUrl, '--token', tokenFor('u2')]);
    expect(second.code).toBe(10);
    expect(second.stderr).toContain('the hub refused the connection: HTTP 503 (server busy)');
    expect(second.stderr).toContain('the hub asks to wait 5 s');
  });

  it('exits 10 when the URL path has no WebSocket endpoint (HTTP 404 at the upgrade)', async () => {
    const f = await hubs.start();
    const res = await cli.run(['listen', '--url', `${f.httpUrl}/elsewhere`, '--token', tokenFor('u1')]);
    expect(res.code).toBe(10);
    expect(res.stderr).toContain('no WebSocket endpoint at ws://127.0.0.1');
  });
});
