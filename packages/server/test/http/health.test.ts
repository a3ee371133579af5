import { createFetchHandler, MemoryBroker, MemoryHistoryStore, NotificationHub } from '@wardcast/server';
import { afterEach, describe, expect, it } from 'vitest';
import { TOKEN_PREFIX, testAuthenticate, useHarness } from '../helpers/harness.js';
import { type ExpressApp, listenExpress } from './express-app.js';
import { call, startHttp } from './fixture.js';

/** A memory broker whose `health()` the test sets; `close()` can be held open. */
class SwitchableBroker extends MemoryBroker {
  state: 'ok' | 'degraded' | 'throws' = 'ok';
  #release: (() => void) | undefined;
  #hold: Promise<void> | undefined;

  health(): 'ok' | 'degraded' {
    if (this.state === 'throws') throw new Error('probe failed');
    return this.state;
  }

  /** Makes the next `close()` wait until {@link SwitchableBroker.release}. */
  holdClose(): void {
    this.#hold = new Promise((resolve) => {
      this.#release = resolve;
    });
  }

  release(): void {
    this.#release?.();
  }

  override async close(): Promise<void> {
    await this.#hold;
    super.close();
  }
}

/** A memory history store whose `health()` the test sets. */
class SwitchableHistory extends MemoryHistoryStore {
  state: 'ok' | 'degraded' = 'ok';

  health(): 'ok' | 'degraded' {
    return this.state;
  }
}

function switchable(): { broker: SwitchableBroker; history: SwitchableHistory } {
  return { broker: new SwitchableBroker(), history: new SwitchableHistory() };
}

const harness = useHarness();
const apps: ExpressApp[] = [];
const hubs: NotificationHub[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

describe('hub.health()', () => {
  it('is ready with the memory defaults, and not from the moment close() is called', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate });
    expect(hub.health()).toEqual({
      status: 'ok',
      ready: true,
      checks: { broker: 'ok', history: 'ok' },
      failing: [],
    });
    const closing = hub.close();
    expect(hub.health()).toMatchObject({ status: 'shutting_down', ready: false, failing: ['shutdown'] });
    await closing;
    expect(hub.health()).toMatchObject({ status: 'shutting_down', ready: false, failing: ['shutdown'] });
  });

  it('names each degraded check; a health() that throws counts as degraded', () => {
    const { broker, history } = switchable();
    const hub = new NotificationHub({ authenticate: testAuthenticate, broker, history });
    hubs.push(hub);
    broker.state = 'degraded';
    expect(hub.health()).toEqual({
      status: 'degraded',
      ready: false,
      checks: { broker: 'degraded', history: 'ok' },
      failing: ['broker'],
    });
    broker.state = 'ok';
    history.state = 'degraded';
    expect(hub.health()).toMatchObject({ status: 'degraded', ready: false, failing: ['history'] });
    broker.state = 'throws';
    expect(hub.health()).toMatchObject({ checks: { broker: 'degraded', history: 'degraded' } });
    expect(hub.health().failing).toEqual(['broker', 'history']);
    broker.state = 'ok';
    history.state = 'ok';
    expect(hub.health().ready).toBe(true);
  });
});

describe('GET /v1/health/live and /v1/health/ready (Node handler)', () => {
  it('answers 200 with states only, no store, no authentication (even with stats authenticated)', async () => {
    const f = await startHttp(harness, {}, { stats: 'authenticated' });
    await harness.subscriber(f, 'u1', ['user:u1']);
    await f.hub.publish('user:u1', { kind: 'custom', payload: { title: 'PHI-MARKER' } });

    const live = await call(f.base, 'GET', '/v1/health/live');
    expect(live.status).toBe(200);
    expect(live.json).toEqual({ success: true, data: { live: true, status: 'ok' } });
    const ready = await call(f.base, 'GET', '/v1/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({
      success: true,
      data: { ready: true, status: 'ok', checks: { broker: 'ok', history: 'ok' } },
    });
    for (const res of [live, ready]) {
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.text).not.toContain('u1');
      expect(res.text).not.toContain('PHI-MARKER');
      expect(res.text).not.toContain(TOKEN_PREFIX);
    }
  });

  it('answers 503 not_ready naming the failing check while the broker or history is degraded; stats says degraded', async () => {
    const { broker, history } = switchable();
    const f = await startHttp(harness, { broker, history });
    broker.state = 'degraded';
    const res = await call(f.base, 'GET', '/v1/health/ready');
    expect(res.status).toBe(503);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toEqual({
      success: false,
      error: {
        code: 'not_ready',
        message: 'not ready: broker degraded',
        status: 'degraded',
        failing: ['broker'],
        checks: { broker: 'degraded', history: 'ok' },
      },
    });
    expect((await call(f.base, 'GET', '/v1/ws/stats')).json.data.status).toBe('degraded');
    // Liveness does not fail on a dependency: restarting the process would not fix Redis.
    const live = await call(f.base, 'GET', '/v1/health/live');
    expect(live.status).toBe(200);
    expect(live.json.data).toEqual({ live: true, status: 'degraded' });

    broker.state = 'ok';
    history.state = 'degraded';
    const hist = await call(f.base, 'GET', '/v1/health/ready');
    expect(hist.status).toBe(503);
    expect(hist.json.error).toMatchObject({ failing: ['history'], message: 'not ready: history degraded' });

    history.state = 'ok';
    expect((await call(f.base, 'GET', '/v1/health/ready')).status).toBe(200);
    expect((await call(f.base, 'GET', '/v1/ws/stats')).json.data.status).toBe('active');
  });

  it('answers 503 during and after hub.close(), while liveness stays 200', async () => {
    const { broker, history } = switchable();
    const f = await startHttp(harness, { broker, history });
    broker.holdClose();
    const closing = f.hub.close();
    let closed = false;
    void closing.then(() => {
      closed = true;
    });
    const during = await call(f.base, 'GET', '/v1/health/ready');
    expect(closed).toBe(false);
    expect(during.status).toBe(503);
    expect(during.json.error).toMatchObject({
      code: 'not_ready',
      status: 'shutting_down',
      failing: ['shutdown'],
      message: 'not ready: shutting down',
    });
    expect((await call(f.base, 'GET', '/v1/health/live')).json.data).toEqual({ live: true, status: 'shutting_down' });
    broker.release();
    await closing;
    const after = await call(f.base, 'GET', '/v1/health/ready');
    expect(after.status).toBe(503);
    expect(after.json.error.status).toBe('shutting_down');
    expect((await call(f.base, 'GET', '/v1/health/live')).status).toBe(200);
    expect((await call(f.base, 'GET', '/v1/ws/stats')).json.data.status).toBe('closed');
  });

  it('answers HEAD, refuses other methods with 405, moves with basePath and can be turned off', async () => {
    const f = await startHttp(harness, {}, { basePath: '/api' });
    const head = await call(f.base, 'HEAD', '/api/v1/health/ready');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    const post = await call(f.base, 'POST', '/api/v1/health/live');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await call(f.base, 'GET', '/v1/health/live')).status).toBe(404);

    const off = await startHttp(harness, {}, { health: false });
    expect((await call(off.base, 'GET', '/v1/health/live')).status).toBe(404);
    expect((await call(off.base, 'GET', '/v1/health/ready')).status).toBe(404);
  });
});

describe('health endpoints through the Fetch handler', () => {
  it('answers liveness and readiness, 503 while degraded and after close', async () => {
    const { broker, history } = switchable();
    const hub = new NotificationHub({ authenticate: testAuthenticate, broker, history });
    hubs.push(hub);
    const handler = createFetchHandler(hub);
    const get = (path: string, method = 'GET') => handler(new Request(`http://localhost${path}`, { method }));

    const live = await get('/v1/health/live');
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ success: true, data: { live: true, status: 'ok' } });
    const ready = await get('/v1/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('no-store');
    expect(await ready.json()).toMatchObject({ success: true, data: { ready: true } });
    expect((await get('/v1/health/ready', 'HEAD')).status).toBe(200);

    history.state = 'degraded';
    const degraded = await get('/v1/health/ready');
    expect(degraded.status).toBe(503);
    expect(await degraded.json()).toMatchObject({
      success: false,
      error: { code: 'not_ready', failing: ['history'], checks: { broker: 'ok', history: 'degraded' } },
    });
    history.state = 'ok';

    await hub.close();
    const closed = await get('/v1/health/ready');
    expect(closed.status).toBe(503);
    expect(await closed.json()).toMatchObject({ error: { code: 'not_ready', status: 'shutting_down' } });
    expect((await get('/v1/health/live')).status).toBe(200);
  });
});

describe('health endpoints through Express', () => {
  it('answers liveness and readiness and leaves other routes to the app', async () => {
    const { broker, history } = switchable();
    const hub = new NotificationHub({ authenticate: testAuthenticate, broker, history });
    hubs.push(hub);
    const app = await listenExpress(hub);
    apps.push(app);

    expect((await call(app.base, 'GET', '/v1/health/live')).json).toEqual({
      success: true,
      data: { live: true, status: 'ok' },
    });
    expect((await call(app.base, 'GET', '/v1/health/ready')).status).toBe(200);
    expect((await call(app.base, 'GET', '/app')).json).toEqual({ app: true });

    broker.state = 'degraded';
    const degraded = await call(app.base, 'GET', '/v1/health/ready');
    expect(degraded.status).toBe(503);
    expect(degraded.headers.get('cache-control')).toBe('no-store');
    expect(degraded.json.error).toMatchObject({ code: 'not_ready', failing: ['broker'] });
    broker.state = 'ok';

    await hub.close();
    expect((await call(app.base, 'GET', '/v1/health/ready')).json.error.failing).toEqual(['shutdown']);
    expect((await call(app.base, 'GET', '/v1/health/live')).status).toBe(200);
  });
});
