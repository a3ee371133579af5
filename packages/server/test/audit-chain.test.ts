import {
  type AuditEvent,
  type ChainedAuditRecord,
  canonicalJson,
  createAuditChain,
  GENESIS_HASH,
  verifyAuditChain,
} from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { eventually, TOKEN_PREFIX, useHarness } from './helpers/harness.js';

const harness = useHarness();

/** Runs a real hub through connect, subscribe, deny, ack, read and disconnect; returns its chained audit records. */
async function auditTrail(secret?: string): Promise<ChainedAuditRecord[]> {
  const fx = await harness.start();
  const chain = createAuditChain(secret === undefined ? {} : { secret });
  const records: ChainedAuditRecord[] = [];
  fx.hub.on('audit', (e) => records.push(chain.append(e)));

  const alice = await harness.subscriber(fx, 'alice', ['user:alice']);
  await alice.subscribe(['patient:p1']);
  await fx.hub.publish('user:alice', { kind: 'custom', priority: 'critical', id: 'n1', payload: { x: 1 } });
  await alice.notification('n1');
  alice.send({ type: 'ack', id: 'n1' });
  alice.send({ type: 'read', id: 'n1' });
  await alice.nextFrame('receipt');
  await alice.nextFrame('receipt');
  const mallory = harness.connect(fx, { label: 'mallory' });
  await mallory.nextFrame('welcome');
  mallory.send({ type: 'auth', token: 'wrong' });
  await mallory.waitClose();
  alice.ws.close();
  await eventually(() => fx.hub.stats().connections === 0, 'every connection closed');
  return records;
}

function tampered(records: readonly ChainedAuditRecord[], index: number, change: object): ChainedAuditRecord[] {
  return records.map((r, i) => (i === index ? { ...r, ...change } : r));
}

describe('audit hash chain', () => {
  it("links a hub's audit events into a chain that verifies", async () => {
    const records = await auditTrail();

    expect(records.length).toBeGreaterThanOrEqual(8);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect(records[0]?.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < records.length; i++) expect(records[i]?.prevHash).toBe(records[i - 1]?.hash);
    for (const r of records) expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(records.map((r) => r.type)).toEqual(
      expect.arrayContaining(['connection.opened', 'auth.succeeded', 'subscribe.denied', 'notification.acknowledged']),
    );
    expect(JSON.stringify(records)).not.toContain(TOKEN_PREFIX);
    expect(verifyAuditChain(records)).toEqual({ ok: true });
  });

  it('survives a JSON round trip (as when stored and read back)', async () => {
    const records = await auditTrail();
    const reread = JSON.parse(JSON.stringify(records)) as ChainedAuditRecord[];

    expect(verifyAuditChain(reread)).toEqual({ ok: true });
  });

  it('fails at the record whose field was changed', async () => {
    const records = await auditTrail();

    expect(verifyAuditChain(tampered(records, 3, { userId: 'mallory' }))).toEqual({
      ok: false,
      index: 3,
      reason: 'hash',
    });
    expect(verifyAuditChain(tampered(records, 0, { at: '2000-01-01T00:00:00.000Z' }))).toMatchObject({ index: 0 });
    expect(verifyAuditChain(tampered(records, 2, { extra: 'added' }))).toMatchObject({ ok: false, index: 2 });
  });

  it('fails when a changed record was re-hashed but the next one still links to the old hash', async () => {
    const records = await auditTrail();
    const forged = createAuditChain({ initialHash: records[1]?.hash ?? '', initialSeq: 2 });
    const { seq: _seq, prevHash: _prev, hash: _hash, ...event } = records[2] as ChainedAuditRecord;
    const rehashed = forged.append({ ...event, userId: 'mallory' });
    const copy = [...records];
    copy[2] = rehashed;

    expect(verifyAuditChain(copy)).toEqual({ ok: false, index: 3, reason: 'prevHash' });
  });

  it('fails at the first reordered record', async () => {
    const records = await auditTrail();
    const copy = [...records];
    [copy[4], copy[5]] = [copy[5] as ChainedAuditRecord, copy[4] as ChainedAuditRecord];

    expect(verifyAuditChain(copy)).toEqual({ ok: false, index: 4, reason: 'seq' });
  });

  it('fails where a record was deleted', async () => {
    const records = await auditTrail();
    const copy = records.filter((_, i) => i !== 3);

    expect(verifyAuditChain(copy)).toEqual({ ok: false, index: 3, reason: 'seq' });
    expect(verifyAuditChain(records.slice(1))).toEqual({ ok: false, index: 0, reason: 'seq' });
  });

  it('fails when seqs were renumbered after a deletion (the hashes no longer link)', async () => {
    const records = await auditTrail();
    const copy = records.filter((_, i) => i !== 3).map((r, i) => (i >= 3 ? { ...r, seq: i + 1 } : r));

    expect(verifyAuditChain(copy)).toEqual({ ok: false, index: 3, reason: 'prevHash' });
  });

  it('uses HMAC with a secret: the wrong secret, or none, fails at the first record', async () => {
    const records = await auditTrail('k3y');

    expect(verifyAuditChain(records, { secret: 'k3y' })).toEqual({ ok: true });
    expect(verifyAuditChain(records, { secret: 'other' })).toEqual({ ok: false, index: 0, reason: 'hash' });
    expect(verifyAuditChain(records)).toEqual({ ok: false, index: 0, reason: 'hash' });
  });

  it('continues a chain from a stored head, and verifies the segment from there', () => {
    const event = (n: number): AuditEvent => ({
      type: 'connection.opened',
      at: new Date(1_700_000_000_000 + n).toISOString(),
      sessionId: `s${n}`,
      userId: undefined,
    });
    const first = createAuditChain({ secret: 's' });
    const before = [first.append(event(1)), first.append(event(2))];
    const resumed = createAuditChain({ secret: 's', initialHash: first.head.hash, initialSeq: first.head.seq });
    const after = [resumed.append(event(3)), resumed.append(event(4))];

    expect(first.head).toEqual({ seq: 2, hash: before[1]?.hash });
    expect(after.map((r) => r.seq)).toEqual([3, 4]);
    expect(verifyAuditChain([...before, ...after], { secret: 's' })).toEqual({ ok: true });
    expect(verifyAuditChain(after, { secret: 's', initialHash: before[1]?.hash ?? '', initialSeq: 2 })).toEqual({
      ok: true,
    });
    expect(verifyAuditChain(after, { secret: 's' })).toEqual({ ok: false, index: 0, reason: 'seq' });
  });

  it('hashes a canonical form: key order and undefined fields do not matter', () => {
    const a = createAuditChain().append({ type: 'auth.succeeded', at: 't', sessionId: 's', userId: 'u' } as AuditEvent);
    const b = createAuditChain().append({
      userId: 'u',
      sessionId: 's',
      at: 't',
      type: 'auth.succeeded',
      topic: undefined,
    });

    expect(a.hash).toBe(b.hash);
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }], e: undefined })).toBe('{"a":[{"d":2}],"b":1}');
  });

  it('ignores seq, prevHash and hash already present on the appended event', () => {
    const chain = createAuditChain();
    const record = chain.append({ type: 'auth.succeeded', at: 't', sessionId: 's', userId: 'u', seq: 99, hash: 'x' });

    expect(record.seq).toBe(1);
    expect(record.prevHash).toBe(GENESIS_HASH);
    expect(verifyAuditChain([record])).toEqual({ ok: true });
  });
});
