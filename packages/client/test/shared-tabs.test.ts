import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { NotificationHub } from '@wardcast/server';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleModule } from './helpers/bundle.js';
import { CHROMIUM, launchChromium } from './helpers/chromium.js';
import { closeServer, custom, eventually, listen, testAuthenticate, useFixtures } from './helpers/fixtures.js';

/**
 * One connection per browser (`@wardcast/client/shared`), end to end: tabs are pages of one
 * Chromium context (one profile: shared Web Locks and BroadcastChannel), each running a
 * `NotificationsStore` with `shareAcrossTabs`, against a real hub.
 */
const available = existsSync(CHROMIUM);
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
/** Generous: a busy 2-core machine runs Chromium with six renderers. */
const DEADLINE = 30_000;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8" /><title>tab</title></head><body>
<script type="module">
  import { NotificationsStore, createSharedNotificationClient } from '/bundle.js';
  const params = new URLSearchParams(location.search);
  const user = params.get('user');
  // Lets a test lose this tab's incoming channel messages for a while (as a discarded tab would),
  // or have them come late (as on a busy machine).
  window.dropChannel = false;
  window.channelDelayMs = 0;
  const NativeChannel = globalThis.BroadcastChannel;
  globalThis.BroadcastChannel = class extends NativeChannel {
    set onmessage(fn) {
      super.onmessage = fn && ((event) => {
        if (window.dropChannel) return;
        if (window.channelDelayMs > 0) setTimeout(() => fn(event), window.channelDelayMs);
        else fn(event);
      });
    }
    get onmessage() {
      return super.onmessage;
    }
  };
  const store = new NotificationsStore(() => ({
    url: \`ws://\${location.host}/v1/ws/notifications\`,
    token: \`tok:\${user}\`,
    userId: user,
    createClient: createSharedNotificationClient,
    topics: [\`user:\${user}\`],
    maxItems: 1000,
    shareReplay: 1000,
    backoff: { initialDelayMs: 20, maxDelayMs: 200 },
  }));
  window.ids = [];
  window.gaps = [];
  window.store = store;
  const start = () => {
    window.stop = store.start();
    window.client = store.client;
    window.client.on('notification', (n) => window.ids.push(n.id));
    window.client.on('gap', (g) => window.gaps.push(g));
  };
  // \`?later\`: the tab starts when the test says, at the time it gives (tabs started at one time tick together).
  if (params.has('later')) window.startAt = (at) => setTimeout(start, at - Date.now());
  else start();
  window.view = () => {
    const client = window.client;
    const s = store.getSnapshot();
    return {
      status: s.status.state,
      userId: s.status.userId,
      unread: s.unreadCount,
      items: s.notifications.map((n) => n.id + (n.acknowledged ? ':ack' : n.read ? ':read' : '')).reverse(),
      // Not started yet: idle, and neither.
      leader: !!client?.leader,
      shared: !!client?.shared,
    };
  };
</script></body></html>`;

interface View {
  status: string;
  userId: string | undefined;
  unread: number;
  items: string[];
  leader: boolean;
  shared: boolean;
}

declare global {
  interface Window {
    ids: string[];
    gaps: unknown[];
    dropChannel: boolean;
    channelDelayMs: number;
    startAt(at: number): void;
    view(): View;
    store: { markRead(id: string): void; ack(id: string): void };
    client: { subscribe(topic: string): void; unsubscribe(topic: string): void };
  }
}

const f = useFixtures();

describe.runIf(available)('one connection per browser (Chromium, shared across tabs)', () => {
  let browser: Browser | undefined;
  let bundle = '';

  beforeAll(async () => {
    bundle = await bundleModule(
      [
        `export { NotificationsStore } from ${JSON.stringify(here('../src/react/store.ts'))};`,
        `export { createSharedNotificationClient } from ${JSON.stringify(here('../src/shared.ts'))};`,
      ].join('\n'),
    );
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  async function serve() {
    const hub = new NotificationHub({ authenticate: testAuthenticate, authorize: () => true, closeTimeoutMs: 500 });
    let connections = 0;
    hub.on('connection', () => connections++);
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/?') || req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(PAGE);
      } else if (req.url === '/bundle.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(bundle);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    hub.attach(server);
    const port = await listen(server);
    f.defer(async () => {
      await hub.close();
      await closeServer(server);
    });
    return { hub, origin: `http://127.0.0.1:${port}`, connections: () => connections };
  }

  async function profile(): Promise<BrowserContext> {
    if (!browser) throw new Error('browser did not start');
    const context = await browser.newContext();
    f.defer(() => context.close());
    return context;
  }

  const errors: string[] = [];
  async function tab(context: BrowserContext, origin: string, user: string, later = false): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${origin}/?user=${user}${later ? '&later' : ''}`);
    return page;
  }

  /**
   * Freezes a tab as the browser does (memory saver, background tabs): its scripts stop, its
   * socket and its locks stay. Headless Chromium accepts `Page.setWebLifecycleState` but does not
   * freeze a page it shows (timers go on, no `freeze` event), so the debugger also holds the tab's
   * JavaScript: nothing of it runs until it is resumed, and what arrives meanwhile waits.
   */
  async function freezer(context: BrowserContext, page: Page) {
    const cdp = await context.newCDPSession(page);
    return {
      async freeze() {
        await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
        await cdp.send('Debugger.enable');
        await cdp.send('Debugger.pause');
      },
      async thaw() {
        await cdp.send('Debugger.resume');
        await cdp.send('Debugger.disable');
        await cdp.send('Page.setWebLifecycleState', { state: 'active' });
      },
    };
  }

  /** Polls the pages until exactly one of them leads and every one is open; fails with who leads. */
  async function oneLeader(pages: Page[], what: string): Promise<View[]> {
    const deadline = Date.now() + DEADLINE;
    for (;;) {
      const views = await Promise.all(pages.map(view));
      if (views.filter((v) => v.leader).length === 1 && views.every((v) => v.status === 'open')) return views;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting until ${what}: ${JSON.stringify(views.map((v) => [v.leader, v.status]))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const view = (page: Page) => page.evaluate(() => window.view());

  /** Polls every page until `ok` holds for each; fails with what each page shows. */
  async function allShow(pages: Page[], ok: (v: View) => boolean, what: string): Promise<View[]> {
    const deadline = Date.now() + DEADLINE;
    for (;;) {
      const views = await Promise.all(pages.map(view));
      if (views.every(ok)) return views;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting until ${what}: ${JSON.stringify(views.map((v) => ({ ...v, items: v.items.length })))}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('five tabs share one connection; the leader closes mid-stream and every tab still gets everything once, in order; a late tab gets the state; reads and acks reach every tab', async () => {
    const { hub, origin, connections } = await serve();
    const context = await profile();
    const tabs: Page[] = [];
    for (let i = 0; i < 5; i++) tabs.push(await tab(context, origin, 'u1'));
    await allShow(tabs, (v) => v.status === 'open' && v.userId === 'u1' && v.shared, 'every tab is open');
    expect(hub.stats().connections).toBe(1);
    expect((await Promise.all(tabs.map(view))).filter((v) => v.leader)).toHaveLength(1);

    // Publish continuously; close the leader tab a third of the way through.
    const leaderIndex = (await Promise.all(tabs.map(view))).findIndex((v) => v.leader);
    const leader = tabs[leaderIndex] as Page;
    const rest = tabs.filter((t) => t !== leader);
    const ids = Array.from({ length: 60 }, (_, i) => `p${i}`);
    let closing: Promise<void> | undefined;
    for (const [i, id] of ids.entries()) {
      await hub.publish('user:u1', custom(id));
      if (i === 20) closing = leader.close();
      await new Promise((r) => setTimeout(r, 5));
    }
    await closing;
    await allShow(rest, (v) => v.items.length >= ids.length, 'every remaining tab has every notification');
    for (const page of rest) {
      expect(await page.evaluate(() => window.ids)).toEqual(ids);
      // The new leader resumed from the position it saw: the hub's history covered it.
      expect(await page.evaluate(() => window.gaps)).toEqual([]);
    }
    await eventually(() => hub.stats().connections === 1, 'one connection again', DEADLINE);
    const views = await allShow(rest, (v) => v.status === 'open', 'the tabs are open again');
    expect(views.filter((v) => v.leader)).toHaveLength(1);

    // Read in one tab, ack in another: every tab shows both (ids the current leader received live).
    await (rest[0] as Page).evaluate(() => window.store.markRead('p58'));
    await (rest[1] as Page).evaluate(() => window.store.ack('p59'));
    await allShow(
      rest,
      (v) => v.items.includes('p58:read') && v.items.includes('p59:ack') && v.unread === ids.length - 2,
      'the read and the ack show in every tab',
    );

    // A tab opened later gets the current state at once, over the same connection.
    const late = await tab(context, origin, 'u1');
    const [state] = await allShow(
      [late],
      (v) => v.items.length === ids.length && v.unread === ids.length - 2,
      'the late tab has the state',
    );
    expect(state?.items).toEqual([...ids.slice(0, 58), 'p58:read', 'p59:ack']);
    expect(await late.evaluate(() => window.ids)).toEqual(ids);
    expect(hub.stats().connections).toBe(1);
    // The first leader's, then its successor's: never more.
    expect(connections()).toBe(2);

    // And it receives what comes next, like the others.
    await hub.publish('user:u1', custom('after'));
    await allShow([...rest, late], (v) => v.items.at(-1) === 'after', 'every tab gets the next one');
    expect(errors).toEqual([]);
  }, 180_000);

  it('a frozen leader tab is replaced within the deadline: nothing lost or repeated; thawed, it follows and catches up, over one connection', async () => {
    const { hub, origin, connections } = await serve();
    const context = await profile();
    const tabs: Page[] = [];
    for (let i = 0; i < 4; i++) tabs.push(await tab(context, origin, 'u1'));
    await allShow(tabs, (v) => v.status === 'open' && v.shared, 'every tab is open');
    expect(hub.stats().connections).toBe(1);
    const leaderIndex = (await Promise.all(tabs.map(view))).findIndex((v) => v.leader);
    const frozen = tabs[leaderIndex] as Page;
    const rest = tabs.filter((t) => t !== frozen);
    const { freeze, thaw } = await freezer(context, frozen);

    // Publish continuously; freeze the leader tab (as the browser does to a background tab) early on.
    const ids: string[] = [];
    let publishing = true;
    let frozenAt = 0;
    const publisher = (async () => {
      for (let i = 0; publishing && !hub.closed; i++) {
        const id = `f${i}`;
        await hub.publish('user:u1', custom(id));
        ids.push(id);
        if (i === 10) {
          await freeze();
          frozenAt = Date.now();
        }
        await new Promise((r) => setTimeout(r, 60));
      }
    })();
    // One of the others takes over (the default deadline is 3 missed heartbeats of 2 s, plus jitter).
    const deadline = Date.now() + DEADLINE;
    for (;;) {
      const views = await Promise.all(rest.map(view));
      if (frozenAt && views.filter((v) => v.leader).length === 1 && views.every((v) => v.status === 'open')) break;
      if (Date.now() > deadline) throw new Error(`no takeover: ${JSON.stringify(views.map((v) => v.leader))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const tookMs = Date.now() - frozenAt;
    expect(tookMs).toBeLessThan(DEADLINE);
    // And goes on relaying what comes next.
    const published = ids.length;
    await eventually(() => ids.length >= published + 20, 'more published after the takeover', DEADLINE);
    publishing = false;
    await publisher;
    await allShow(rest, (v) => v.items.length >= ids.length, 'every remaining tab has every notification');
    for (const page of rest) {
      expect(await page.evaluate(() => window.ids)).toEqual(ids);
      expect(await page.evaluate(() => window.gaps)).toEqual([]);
    }
    // The frozen tab still holds its socket (the hub cannot tell): two for now.
    expect((await Promise.all(rest.map(view))).filter((v) => v.leader)).toHaveLength(1);

    // Thawed, it learns it was replaced: closes its socket, follows the new leader and catches up.
    await thaw();
    await allShow(
      [frozen],
      (v) => !v.leader && v.status === 'open' && v.items.length >= ids.length,
      'the thawed tab follows and has caught up',
    );
    expect(await frozen.evaluate(() => window.ids)).toEqual(ids);
    await eventually(
      () => hub.stats().connections === 1 && hub.stats().users === 1,
      'one connection for the user again',
      DEADLINE,
    );
    const views = await allShow(tabs, (v) => v.status === 'open', 'every tab is open');
    expect(views.filter((v) => v.leader)).toHaveLength(1);
    // The frozen leader's and the one follower's that took over: never more.
    expect(connections()).toBe(2);

    await hub.publish('user:u1', custom('after'));
    await allShow(tabs, (v) => v.items.at(-1) === 'after', 'every tab gets the next one');
    for (const page of tabs) expect(await page.evaluate(() => window.ids)).toEqual([...ids, 'after']);
    expect(hub.stats().connections).toBe(1);
    expect(errors).toEqual([]);
    console.log(`takeover ${tookMs} ms after the freeze; ${ids.length} notifications`);
  }, 180_000);

  it('followers that find the leader silent at the same moment, their channel slow: one of them takes over, not each in turn', async () => {
    const { hub, origin, connections } = await serve();
    const context = await profile();
    const tabs: Page[] = [];
    for (let i = 0; i < 4; i++) tabs.push(await tab(context, origin, 'u1', true));
    // Started at one time, the tabs' watchdogs tick together: the followers notice the silence at
    // the same tick.
    const at = Date.now() + 1_000;
    await Promise.all(tabs.map((page) => page.evaluate((t) => window.startAt(t), at)));
    await allShow(tabs, (v) => v.status === 'open' && v.shared, 'every tab is open');
    expect(hub.stats().connections).toBe(1);
    const frozen = tabs[(await Promise.all(tabs.map(view))).findIndex((v) => v.leader)] as Page;
    const rest = tabs.filter((t) => t !== frozen);
    // Then each waits as long after its ping, and hears the channel 300 ms late (a busy machine):
    // each decides to take over before the first new leader's word reaches it.
    for (const page of rest)
      await page.evaluate(() => {
        window.channelDelayMs = 300;
        Math.random = () => 0;
      });
    const { freeze, thaw } = await freezer(context, frozen);
    await freeze();
    await oneLeader(rest, 'one of the others took over');
    // Every follower has heard the new leader (what it relays comes after its first word): had
    // another tab also decided to take over, it would have by now.
    await hub.publish('user:u1', custom('n1'));
    await allShow(rest, (v) => v.items.includes('n1'), 'every follower has what the new leader relays');
    // The frozen leader's and that of the one tab that took over.
    expect(connections()).toBe(2);
    expect((await Promise.all(rest.map(view))).filter((v) => v.leader)).toHaveLength(1);

    await thaw();
    await eventually(() => hub.stats().connections === 1, 'one connection again', DEADLINE);
    await hub.publish('user:u1', custom('n2'));
    const views = await allShow(tabs, (v) => v.status === 'open' && v.items.at(-1) === 'n2', 'every tab gets n2');
    expect(views.filter((v) => v.leader)).toHaveLength(1);
    expect(connections()).toBe(2);
    expect(errors).toEqual([]);
  }, 180_000);

  it('a tab that lost relayed notifications reports a gap for the topic instead of a silent hole', async () => {
    const { hub, origin } = await serve();
    const context = await profile();
    const tabs = [await tab(context, origin, 'u1'), await tab(context, origin, 'u1')];
    await allShow(tabs, (v) => v.status === 'open' && v.shared, 'both tabs are open');
    const follower = (await Promise.all(tabs.map(view))).findIndex((v) => !v.leader);
    const lossy = tabs[follower] as Page;
    const other = tabs[1 - follower] as Page;
    await hub.publish('user:u1', custom('g0'));
    await allShow(tabs, (v) => v.items.includes('g0'), 'both tabs have g0');
    await lossy.evaluate(() => {
      window.dropChannel = true;
    });
    for (const id of ['g1', 'g2', 'g3']) await hub.publish('user:u1', custom(id));
    await allShow([other], (v) => v.items.includes('g3'), 'the other tab has g3');
    await lossy.evaluate(() => {
      window.dropChannel = false;
    });
    await hub.publish('user:u1', custom('g4'));
    await allShow(tabs, (v) => v.items.includes('g4'), 'both tabs have g4');
    expect(await lossy.evaluate(() => window.ids)).toEqual(['g0', 'g4']);
    expect(await lossy.evaluate(() => window.gaps)).toEqual([{ topic: 'user:u1', reason: 'seq_jump' }]);
    expect(await other.evaluate(() => window.ids)).toEqual(['g0', 'g1', 'g2', 'g3', 'g4']);
    expect(await other.evaluate(() => window.gaps)).toEqual([]);
  }, 120_000);

  it('never shares a connection between users of one browser profile', async () => {
    const { hub, origin } = await serve();
    const context = await profile();
    const mine = [await tab(context, origin, 'u1'), await tab(context, origin, 'u1')];
    const theirs = await tab(context, origin, 'u2');
    await allShow([...mine, theirs], (v) => v.status === 'open', 'every tab is open');
    await eventually(
      () => hub.stats().connections === 2 && hub.stats().users === 2,
      'two connections, two users',
      DEADLINE,
    );
    expect((await view(theirs)).userId).toBe('u2');
    expect((await view(theirs)).leader).toBe(true);

    await hub.publish('user:u2', custom('for-u2'));
    await hub.publish('user:u1', custom('for-u1'));
    await allShow(mine, (v) => v.items.includes('for-u1'), 'u1 tabs get theirs');
    await allShow([theirs], (v) => v.items.includes('for-u2'), 'the u2 tab gets its own');
    for (const page of mine) expect((await view(page)).items).toEqual(['for-u1']);
    expect((await view(theirs)).items).toEqual(['for-u2']);
    expect(hub.stats().connections).toBe(2);
    expect(errors).toEqual([]);
  }, 120_000);

  it('routes each topic to the tabs that asked for it and unsubscribes it when no tab wants it', async () => {
    const { hub, origin } = await serve();
    const context = await profile();
    const [a, b, c] = [
      await tab(context, origin, 'u1'),
      await tab(context, origin, 'u1'),
      await tab(context, origin, 'u1'),
    ];
    const tabs = [a, b, c] as Page[];
    await allShow(tabs, (v) => v.status === 'open', 'every tab is open');
    await b?.evaluate(() => window.client.subscribe('patient:p1'));
    await c?.evaluate(() => window.client.subscribe('patient:p1'));
    await eventually(() => hub.stats().subscriptions === 2, 'the leader subscribed to the union', DEADLINE);

    await hub.publish('patient:p1', custom('vitals'));
    await hub.publish('user:u1', custom('mine'));
    await allShow(tabs, (v) => v.items.includes('mine'), 'every tab has its own topic');
    expect((await view(a as Page)).items).toEqual(['mine']);
    expect((await view(b as Page)).items).toEqual(['vitals', 'mine']);
    expect((await view(c as Page)).items).toEqual(['vitals', 'mine']);

    // One tab lets go: the other still wants it. Then the last one is closed: nobody does.
    await b?.evaluate(() => window.client.unsubscribe('patient:p1'));
    await hub.publish('patient:p1', custom('vitals-2'));
    await allShow([c as Page], (v) => v.items.includes('vitals-2'), 'the tab that still wants it gets it');
    expect(hub.stats().subscriptions).toBe(2);
    const leader = (await view(c as Page)).leader;
    await c?.close();
    await eventually(
      () => hub.stats().subscriptions === 1 && hub.stats().connections === 1,
      'the topic is unsubscribed once no tab wants it',
      DEADLINE,
    );
    if (leader) await allShow([a as Page, b as Page], (v) => v.status === 'open', 'a new leader took over');
    expect(errors).toEqual([]);
  }, 120_000);
});
