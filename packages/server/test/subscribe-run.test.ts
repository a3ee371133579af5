import type { HistoryStore, SocketHandlers, TransportSocket } from '@wardcast/server';
import { HubCore, MemoryHistoryStore } from '@wardcast/server';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './helpers/harness.js';
import { withReads } from './helpers/history.js';

/**
 * Issue 12, target 3: a subscribe is run by one object that waits only where a hook or the history
 * store answers with a promise, and goes on at once otherwise. Held here to what an async function
 * does: each topic answered in request order, whichever of its steps waited, and nothing left
 * joined when the connection closes while the run waits.
 */

const hubs: HubCore[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});

/** A protocol 2 connection through `hub.open`, with a socket that records what it is sent. */
function connect(hub: HubCore): { handlers: SocketHandlers; frames: string[] } {
  const frames: string[] = [];
  let handlers: SocketHandlers | undefined;
  const socket: TransportSocket = {
    bufferedAmount: 0,
    send: (text) => void frames.push(text),
    sendEncoded: (frame) => void frames.push(frame.text),
    close: (code, reason) => handlers?.closed(code, reason),
    terminate: () => handlers?.closed(1006, ''),
    ping() {},
  };
  handlers = hub.open(socket, { url: '/v1/ws/notifications?protocol=2', headers: {}, remoteAddress: '127.0.0.1' });
  return { handlers, frames };
}

const hello = (topics: string[]) =>
  JSON.stringify({ type: 'hello', token: 'alice', topics: topics.map((topic) => ({ topic })) });

/** A promise and the function that settles it. */
function gate<T>(): { promise: Promise<T>; open: (value: T) => void } {
  let open: (value: T) => void = () => {};
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('a subscribe that waits here and there', () => {
  it('answers every topic in request order, whichever hook or read answered with a promise', async () => {
    const store = new MemoryHistoryStore();
    const history = withReads(store, {
      // One topic's position comes later, the others' at once.
      position: (topic) => (topic === 'patient:c' ? Promise.resolve(store.position(topic)) : store.position(topic)),
    });
    const hub = new HubCore({
      authenticate: ({ token }) => (token ? { userId: token } : null),
      authorize: (_principal, topic) =>
        topic === 'patient:a' ? Promise.resolve(true) : topic !== 'patient:d' && topic !== 'patient:f',
      phiLevel: (_principal, topic) => (topic === 'patient:b' ? Promise.resolve('id-only') : 'full'),
      history,
    });
    hubs.push(hub);
    const { handlers, frames } = connect(hub);
    handlers.message(hello(['patient:a', 'patient:b', 'patient:c', 'patient:d', 'patient:e', 'patient:f']), false);
    await eventually(() => frames.some((f) => f.includes('"type":"ready"')), 'ready is sent');

    const ready = JSON.parse(frames.find((f) => f.includes('"type":"ready"')) as string);
    expect(
      ready.topics.map((t: { topic: string; status: string; phi?: string; code?: string }) => [
        t.topic,
        t.status,
        t.phi ?? t.code ?? 'full',
      ]),
    ).toEqual([
      ['patient:a', 'ok', 'full'],
      ['patient:b', 'ok', 'id-only'],
      ['patient:c', 'ok', 'full'],
      ['patient:d', 'denied', 'topic_denied'],
      ['patient:e', 'ok', 'full'],
      ['patient:f', 'denied', 'topic_denied'],
    ]);
    expect(hub.stats().subscriptions).toBe(4);
  });

  it('sends nothing and leaves no topic joined when the connection closes while history answers', async () => {
    const store = new MemoryHistoryStore();
    const later = gate<Awaited<ReturnType<HistoryStore['position']>>>();
    const history = withReads(store, { position: () => later.promise });
    const hub = new HubCore({ authenticate: ({ token }) => (token ? { userId: token } : null), history });
    hubs.push(hub);
    const { handlers, frames } = connect(hub);
    handlers.message(hello(['user:alice']), false);
    // Joined while it syncs, as a subscribe does before its history read.
    expect(hub.stats().subscriptions).toBe(1);

    handlers.closed(1000, '');
    later.open(store.position('user:alice') as Awaited<ReturnType<HistoryStore['position']>>);
    await later.promise;
    await new Promise((resolve) => setImmediate(resolve));

    expect(frames.filter((f) => f.includes('"type":"ready"'))).toEqual([]);
    expect(hub.stats().subscriptions).toBe(0);
  });
});
