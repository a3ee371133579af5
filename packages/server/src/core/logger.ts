/**
 * A logger the hub can write to: pino, or anything with the same `(object, message)` methods.
 * The hub logs heartbeat timeouts at `debug`, problems at `warn`/`error`, and never
 * tokens, payloads or anything per message.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * new NotificationHub({ authenticate, logger: pino({ level: 'info' }) });
 * ```
 *
 * @category Observability
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/**
 * A logger that writes nothing: the default.
 *
 * @category Observability
 */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
