import type { AppendResult, HistoryStore, MemoryHistoryStore, NotificationDraft } from '@wardcast/server';

let counter = 0;

/** A `custom` notification draft for `topic`, with a fresh id unless given one. */
export function draft(topic: string, id = `n${++counter}`): NotificationDraft {
  return { id, topic, kind: 'custom', priority: 'routine', createdAt: new Date(0).toISOString(), payload: { id } };
}

/** Appends and commits (both synchronous on the memory store), as the hub's publish does. */
export function put(store: MemoryHistoryStore, d: NotificationDraft): AppendResult {
  const result = store.append(d) as AppendResult;
  if (!result.duplicate) store.commit(result.notification);
  return result;
}

/**
 * `store` as a history store whose reads are replaced where given (answering with promises, as a
 * database-backed store does, or failing); writes go to `store` as they are.
 */
export function withReads(
  store: MemoryHistoryStore,
  reads: Partial<Pick<HistoryStore, 'read' | 'position'>>,
): HistoryStore {
  return {
    append: (d, options) => store.append(d, options),
    commit: (notification) => store.commit(notification),
    abort: (notification) => store.abort(notification),
    read: reads.read ?? ((topic, since) => store.read(topic, since)),
    position: reads.position ?? ((topic) => store.position(topic)),
  };
}
