import type { EventEmitter } from 'eventemitter3';
import type { AuditEvent, HubEvents } from './events.js';
import type { Logger } from './logger.js';

/**
 * Emits hub events so that a throwing listener is logged instead of breaking the session,
 * publish or timer that emitted the event.
 */
export function createSafeEmit(
  events: EventEmitter<HubEvents>,
  logger: Logger,
): <K extends keyof HubEvents>(event: K, ...args: HubEvents[K]) => void {
  return (event, ...args) => {
    try {
      (events.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      logger.error({ err, event }, 'wardcast: event listener threw');
    }
  };
}

/** Emits an audit record only when someone listens (building it costs a date string). */
export function emitAudit(
  events: EventEmitter<HubEvents>,
  emit: ReturnType<typeof createSafeEmit>,
  record: () => AuditEvent,
): void {
  if (events.listenerCount('audit') > 0) emit('audit', record());
}
