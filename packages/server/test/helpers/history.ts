import type { AppendResult, MemoryHistoryStore, NotificationDraft } from '@wardcast/server';

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
