/**
 * Transactional publish (`PostgresOutbox.publishIn`): hub processes on PostgreSQL only, each with a
 * relay; transactions that write a lab result and enqueue its notification, then commit, roll back,
 * or die (SIGKILL) before the commit; the relay leader killed mid-stream. Every committed
 * notification reaches the socket and the inbox exactly once; no rolled-back one ever does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createNotificationClient } from '@wardcast/client';
import { NotificationHub } from '@wardcast/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PostgresOutbox } from '../src/index.js';
import { until } from './helpers/backplane.js';
import { database, useSchema } from './helpers/db.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/outbox-hub.mjs', import.meta.url));
const DISTS = ['../dist/index.js', '../../server/dist/index.js'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

type Done = { readonly ok: boolean; readonly code?: string };

/** A hub (relay on) or writer (relay off) process of `fixtures/outbox-hub.mjs`, driven over IPC. */
class Proc {
  port = 0;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (m: Done & Record<string, unknown>) => void>();
  #next = 0;
  exited = false;

  constructor(env: Record<string, string>) {
    this.#child = spawn(process.execPath, [FIXTURE], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('error', () => {});
    this.#child.on('message', (m: { type: string; req: number } & Done) => {
      this.#pending.get(m.req)?.(m);
      this.#pending.delete(m.req);
    });
    this.#child.once('exit', () => {
      this.exited = true;
      for (const resolve of this.#pending.values()) resolve({ ok: false, code: 'exited' });
      this.#pending.clear();
    });
  }

  async ready(): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('process did not start')), 20_000);
      this.#child.on('message', (m: { type: string; port: number }) => {
        if (m.type !== 'listening') return;
        clearTimeout(timer);
        resolve(m.port);
      });
      this.#child.once('exit', (code) => reject(new Error(`exited with ${code} before listening`)));
    });
    return this;
  }

  request(message: Record<string, unknown>): Promise<Done & Record<string, unknown>> {
    if (this.exited) return Promise.resolve({ ok: false, code: 'exited' });
    const req = ++this.#next;
    return new Promise((resolve) => {
      this.#pending.set(req, resolve);
      this.#child.send({ ...message, req }, (error) => {
        if (error) resolve({ ok: false, code: 'exited' });
      });
    });
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.#child.once('exit', r));
    this.#child.kill('SIGKILL');
    await gone;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.#child.once('exit', r));
    await this.request({ type: 'close' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }
}

const built = DISTS.every((p) => existsSync(p));

describe.skipIf(!database || !built)('transactional outbox (PostgresOutbox.publishIn)', () => {
  const schema = useSchema();
  const procs: Proc[] = [];
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.close().catch(() => p.kill())));
  });
  const start = async (role: 'hub' | 'writer', name: string) => {
    const p = new Proc({ ROLE: role, INSTANCE_ID: name, PG_CONFIG: JSON.stringify(database), PG_SCHEMA: schema.name });
    procs.push(p);
    return p.ready();
  };

  it('200 transactions, half rolled back, some writers killed before commit, the relay leader killed: each committed one is delivered once', async () => {
    await schema.pool.query(`CREATE TABLE "${schema.name}".lab_results (id text PRIMARY KEY, potassium numeric)`);
    const a = await start('hub', 'outbox-a');
    const leads = async (p: Proc) => ((await p.request({ type: 'stats' })).stats as { leader: boolean }).leader;
    await until(() => leads(a), 'instance A leads the relay', 20_000);
    const b = await start('hub', 'outbox-b');
    const writer = await start('writer', 'outbox-w');

    // A real client on the instance that stays up.
    const received: string[] = [];
    const client = createNotificationClient({
      url: `ws://127.0.0.1:${b.port}/v1/ws/notifications`,
      token: 'tok_u1',
      topics: ['user:u1'],
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    client.on('notification', (n) => received.push(n.id));

    // Warm up: commit markers until the client has one (it is then subscribed). They count as
    // committed for the tables; the live check starts after them.
    const committed: string[] = [];
    for (let w = 0; received.length === 0; w++) {
      expect(w, 'the client never subscribed').toBeLessThan(200);
      const id = `warm-${w}`;
      expect((await writer.request({ type: 'tx', id, outcome: 'commit' })).ok).toBe(true);
      committed.push(id);
      await new Promise((r) => setTimeout(r, 100));
    }
    const warm = committed.length;
    await until(() => received.length === warm || received.includes(`warm-${warm - 1}`), 'the warm-up settled', 20_000);
    received.length = 0;

    const notCommitted: string[] = [];
    let died = 0;
    const random = mulberry32(7);
    for (let i = 0; i < 200; i++) {
      const id = `lr-${i}`;
      const roll = random();
      if (i === 100) {
        expect(await leads(a)).toBe(true);
        await a.kill(); // the relay leader, mid-stream: B takes over
      }
      if (roll < 0.05) {
        // A writer killed between the write and the commit: PostgreSQL rolls it back.
        const doomed = await start('writer', `outbox-d${i}`);
        const done = await doomed.request({ type: 'tx', id, outcome: 'die' });
        expect(done).toEqual({ ok: false, code: 'exited' });
        notCommitted.push(id);
        died++;
        continue;
      }
      const outcome = roll < 0.525 ? 'commit' : 'rollback';
      const via = i % 2 === 0 || a.exited ? writer : a;
      const done = await via.request({ type: 'tx', id, outcome });
      expect(done.ok, `${id}: ${done.code}`).toBe(true);
      (outcome === 'commit' ? committed : notCommitted).push(id);
    }

    const live = committed.slice(warm);
    await until(() => live.every((id) => received.includes(id)), `all ${live.length} committed arrived`, 60_000);
    // Nothing more is on its way: the outbox is empty.
    await until(() => leads(b), 'instance B leads the relay', 20_000);
    await until(
      async () => (await schema.pool.query(`SELECT 1 FROM "${schema.name}".outbox`)).rows.length === 0,
      'the outbox is drained',
      30_000,
    );
    const rows = await schema.pool.query<{ id: string }>(`SELECT id FROM "${schema.name}".lab_results ORDER BY id`);
    const inbox = await schema.pool.query<{ id: string }>(
      `SELECT id FROM "${schema.name}".inbox WHERE user_id = 'u1' ORDER BY id`,
    );
    const sorted = [...committed].sort();
    expect(rows.rows.map((r) => r.id)).toEqual(sorted);
    expect(inbox.rows.map((r) => r.id)).toEqual(sorted);
    const liveReceived = received.filter((id) => !id.startsWith('warm-'));
    expect([...liveReceived].sort()).toEqual([...live].sort()); // each once: no duplicates, nothing missing
    expect(received.filter((id) => notCommitted.includes(id))).toEqual([]);
    console.log(
      `[outbox] 200 transactions: ${committed.length} committed, ${notCommitted.length - died} rolled back, ${died} writers killed before commit, the relay leader (A) killed at #100 and B took over; delivered ${liveReceived.length} live (each committed once, none of the others), inbox ${inbox.rows.length}, outbox empty`,
    );
    client.close();
  }, 180_000);

  it('validates inside the transaction: a bad payload throws before anything is enqueued', async () => {
    const hub = new NotificationHub({ authenticate: () => null });
    const outbox = new PostgresOutbox({ pool: schema.pool, hub, schema: schema.name, relay: false });
    const c = await schema.pool.connect();
    try {
      await c.query('BEGIN');
      await expect(
        outbox.publishIn(c, 'user:u2', { kind: 'lab_result', payload: { wrong: true } } as never),
      ).rejects.toMatchObject({ code: 'invalid_payload' });
      await expect(outbox.publishIn(c, 'not a topic', { kind: 'custom', payload: {} })).rejects.toMatchObject({
        code: 'invalid_topic',
      });
      const { id } = await outbox.publishIn(c, 'user:u2', { kind: 'custom', payload: { note: 'ok' } });
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await c.query('ROLLBACK');
    } finally {
      c.release();
    }
    const left = await schema.pool.query(`SELECT 1 FROM "${schema.name}".outbox WHERE topic = 'user:u2'`);
    expect(left.rows).toEqual([]);
    await hub.close();
  });

  it('sets aside a row the hub refuses at relay time, reports it, and relays the ones after it', async () => {
    const hub = new NotificationHub({ authenticate: () => null });
    const published: string[] = [];
    const original = hub.publish.bind(hub);
    hub.publish = ((topic: string, input: never) =>
      original(topic, input).then((r) => {
        published.push(r.id);
        return r;
      })) as typeof hub.publish;
    const letters: string[] = [];
    // A row whose kind the relaying hub does not know (as after a rollback of a deploy).
    await schema.pool.query(`INSERT INTO "${schema.name}".outbox (id, topic, input) VALUES ($1, $2, $3)`, [
      'bad-1',
      'user:u3',
      JSON.stringify({ kind: 'acme.unknown', payload: {} }),
    ]);
    await schema.pool.query(`INSERT INTO "${schema.name}".outbox (id, topic, input) VALUES ($1, $2, $3)`, [
      'good-1',
      'user:u3',
      JSON.stringify({ kind: 'custom', payload: { note: 'after' } }),
    ]);
    const outbox = new PostgresOutbox({
      pool: schema.pool,
      hub,
      schema: schema.name,
      pollIntervalMs: 50,
      onDeadLetter: (l) => letters.push(`${l.id}:${l.code}`),
    });
    await until(() => published.includes('good-1'), 'the row after the refused one is relayed', 20_000);
    expect(letters).toEqual(['bad-1:unknown_kind']);
    const kept = await schema.pool.query<{ id: string; failed: boolean }>(
      `SELECT id, failed_at IS NOT NULL AS failed FROM "${schema.name}".outbox WHERE topic = 'user:u3'`,
    );
    expect(kept.rows).toEqual([{ id: 'bad-1', failed: true }]);
    expect(outbox.stats()).toMatchObject({ leader: true, relayed: 1, deadLettered: 1 });
    await outbox.close();
    await hub.close();
  });
});

/** A small seeded PRNG, so a failing run can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
