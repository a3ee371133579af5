import { createHmac } from 'node:crypto';
import { PostgresInbox } from '@wardcast/postgres';
import { createNodeHandler, type InboxStore, MemoryInbox } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { database, useSchema } from '../../../postgres/test/helpers/db.js';
import { useHarness } from '../helpers/harness.js';
import { call } from '../http/fixture.js';

/**
 * Issue 10, defect 4: `GET /v1/notifications?cursor=forged` answered page 1. A cursor the store
 * did not issue, to this user, is a `400 bad_request` (docs/errors.md) that does not repeat the
 * cursor; cursors it did issue page through to the end, also when they carry long ids.
 */

interface Page {
  items: { id: string }[];
  next_cursor: string | null;
}

/** A notification id of 128 UTF-16 units and 256 UTF-8 bytes: the longest cursor a store makes. */
const LONG_ID = `${'é'.repeat(60)}${'𝄞'.repeat(34)}`;

/** The Postgres cursor format, as docs/postgres.md documents it, for cursors that pass the tag. */
function craftPostgresCursor(schema: string, userId: string, at: number, seq: number, id: string): string {
  const body = `${at.toString(36)}.${seq.toString(36)}.${Buffer.from(id, 'utf8').toString('base64url')}`;
  const tag = createHmac('sha256', 'wardcast/postgres inbox cursor v1')
    .update(`"${schema}".inbox\n${userId}\n${body}`)
    .digest('base64url')
    .slice(0, 16);
  return `${body}.${tag}`;
}

let users = 0;
const newUser = (): string => `cursor-u${++users}-${Math.random().toString(36).slice(2, 8)}`;

function cursorSuite(name: string, makeInbox: () => InboxStore, extraForged: (userId: string) => string[] = () => []) {
  const harness = useHarness();

  /** A hub with `makeInbox()` answering the HTTP endpoints, and `count` notifications for a new user. */
  async function start(count: number, id: (i: number) => string = (i) => `n${i}`) {
    const fx = await harness.start({ inbox: makeInbox() });
    const handler = createNodeHandler(fx.hub);
    fx.server.removeAllListeners('request');
    fx.server.on('request', (req, res) => handler(req, res));
    const user = newUser();
    for (let i = 1; i <= count; i++) {
      await fx.hub.publish(`user:${user}`, { kind: 'custom', id: id(i), payload: { i } });
    }
    return { base: `http://127.0.0.1:${fx.port}`, user };
  }

  /** Every page over HTTP, following `next_cursor`. */
  async function pageAll(base: string, user: string, limit: number): Promise<{ ids: string[]; cursors: string[] }> {
    const ids: string[] = [];
    const cursors: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const query: string = `limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const reply = await call(base, 'GET', `/v1/notifications?${query}`, { as: user });
      expect(reply.status, reply.text).toBe(200);
      const page = reply.json.data as Page;
      ids.push(...page.items.map((i) => i.id));
      cursor = page.next_cursor;
      if (cursor === null) return { ids, cursors };
      cursors.push(cursor);
    }
    throw new Error('more than 50 pages');
  }

  /** Asserts `GET /v1/notifications?cursor=<cursor>` is a 400 bad_request that does not repeat it. */
  async function expectRefused(base: string, user: string, cursor: string): Promise<void> {
    const reply = await call(base, 'GET', `/v1/notifications?limit=5&cursor=${encodeURIComponent(cursor)}`, {
      as: user,
    });
    expect(reply.status, `${cursor}: ${reply.text}`).toBe(400);
    expect(reply.json.error.code).toBe('bad_request');
    if (cursor.length >= 4) expect(reply.text).not.toContain(cursor);
  }

  it(`${name}: pages through every notification with the cursors it issued`, async () => {
    const { base, user } = await start(23);

    const { ids, cursors } = await pageAll(base, user, 5);

    expect(ids).toEqual(Array.from({ length: 23 }, (_, i) => `n${23 - i}`));
    expect(cursors).toHaveLength(4);
    console.log(`[security] ${name}: 23 notifications in 5 pages over HTTP; cursors like ${cursors[0]}`);
  });

  it(`${name}: pages through notifications whose ids are 128 characters of multi-byte text`, async () => {
    const { base, user } = await start(7, (i) => `${LONG_ID.slice(0, 126)}${String(i).padStart(2, '0')}`);

    const { ids, cursors } = await pageAll(base, user, 2);

    expect(ids).toHaveLength(7);
    expect(new Set(ids).size).toBe(7);
    console.log(
      `[security] ${name}: long-id cursors up to ${Math.max(...cursors.map((c) => c.length))} characters page through`,
    );
  });

  it(`${name}: answers 400 bad_request, not page 1, for a forged, tampered or foreign cursor`, async () => {
    const { base, user } = await start(12);
    const { cursors } = await pageAll(base, user, 5);
    const issued = cursors[0] as string;
    const other = await start(12);
    const { cursors: foreign } = await pageAll(other.base, other.user, 5);
    const tampered = [...issued];
    tampered[0] = tampered[0] === '1' ? '2' : '1';
    const forged = [
      'forged',
      '0',
      '1',
      'zzzzzzzzzz',
      'a'.repeat(1_000),
      'Jane Doe',
      tampered.join(''),
      `${issued}x`,
      issued.slice(0, -1),
      issued.replace(/\.[^.]*$/, '.AAAAAAAAAAAAAAAA'),
      foreign[0] as string,
      ...extraForged(user),
    ];

    for (const cursor of forged) await expectRefused(base, user, cursor);
    // Another user presenting this user's cursor is refused as well.
    const reply = await call(base, 'GET', `/v1/notifications?cursor=${encodeURIComponent(issued)}`, { as: 'intruder' });
    expect(reply.status).toBe(400);

    console.log(
      `[security] ${name}: ${forged.length + 1} forged, tampered and foreign cursors each answered 400 bad_request`,
    );
  });
}

describe('inbox cursors over HTTP: MemoryInbox', () => {
  cursorSuite(
    'MemoryInbox',
    () => new MemoryInbox(),
    () => [
      // The format before signed cursors: a bare base-36 position.
      '5',
      'a1',
    ],
  );
});

describe.skipIf(!database)('inbox cursors over HTTP: PostgresInbox', () => {
  const schema = useSchema();
  cursorSuite(
    'PostgresInbox',
    () => new PostgresInbox({ pool: schema.pool, schema: schema.name }),
    (user) => [
      // The format before signed cursors: base64url JSON [at, seq, id].
      Buffer.from(JSON.stringify([Date.now(), 1, 'n1'])).toString('base64url'),
      // Tagged correctly, but out of range: each would have reached PostgreSQL and failed there (503).
      craftPostgresCursor(schema.name, user, -8_640_000_000_000_000, 1, 'n1'),
      craftPostgresCursor(schema.name, user, 8_640_000_000_000_000, 1, 'n1'),
      craftPostgresCursor(schema.name, user, Date.now(), 1, 'n\u0000'),
      craftPostgresCursor(schema.name, user, Date.now(), 1, 'x'.repeat(129)),
      // Tagged for another schema.
      craftPostgresCursor('another_schema', user, Date.now(), 1, 'n1'),
    ],
  );

  it('PostgresInbox: a cursor crafted with the documented format pages the caller’s own inbox only', async () => {
    const inbox = new PostgresInbox({ pool: schema.pool, schema: schema.name });
    const user = newUser();
    const page = await inbox.list(user, {
      cursor: craftPostgresCursor(schema.name, user, Date.now() + 60_000, 1, 'n1'),
      limit: 5,
    });
    expect(page.items).toEqual([]);
    console.log('[security] PostgresInbox: a well-formed crafted cursor reads only the caller’s own (empty) inbox');
  });
});
