import { ExitCode } from './errors.js';
import { printable } from './format.js';
import { callHub } from './http.js';
import type { Output } from './io.js';

/** Resolved flags of `wardcast send`. */
export interface SendOptions {
  readonly url: URL;
  readonly token: string;
  /** Recipient; the hub picks the token's own user when `undefined`. */
  readonly user: string | undefined;
  readonly title: string;
  readonly message: string;
  readonly priority: 'routine' | 'urgent' | 'critical' | undefined;
  readonly origin: string | undefined;
  readonly json: boolean;
  readonly timeoutMs: number;
}

/** Default title of `wardcast send`. */
export const DEFAULT_TITLE = 'Test notification';
/** Default message of `wardcast send`. */
export const DEFAULT_MESSAGE = 'Sent with wardcast send';

/** `wardcast send`: `POST /v1/ws/test-notification`, then prints where the notification went. */
export async function send(o: SendOptions, out: Output): Promise<number> {
  const data = await callHub({
    method: 'POST',
    url: o.url,
    token: o.token,
    origin: o.origin,
    body: {
      ...(o.user === undefined ? {} : { user_id: o.user }),
      title: o.title,
      message: o.message,
      ...(o.priority === undefined ? {} : { priority: o.priority }),
    },
    timeoutMs: o.timeoutMs,
    signal: out.signal,
    notFoundHint: 'the hub serves this endpoint only with enableTestNotifications: true (keep it off in production)',
  });
  if (o.json) {
    out.out(JSON.stringify(data));
    return ExitCode.Ok;
  }
  const d = (data ?? {}) as { topic?: unknown; id?: unknown; epoch?: unknown; seq?: unknown; duplicate?: unknown };
  const text = (v: unknown): string => printable(String(v));
  out.out(
    `sent ${text(d.id)} to ${text(d.topic)} (seq ${text(d.seq)}, epoch ${text(d.epoch)})` +
      (d.duplicate === true ? '; duplicate: the hub had it already' : ''),
  );
  return ExitCode.Ok;
}

/** Resolved flags of `wardcast stats`. */
export interface StatsOptions {
  readonly url: URL;
  readonly token: string | undefined;
  readonly json: boolean;
  readonly timeoutMs: number;
}

/** `wardcast stats`: `GET /v1/ws/stats`, printed as aligned `name value` lines or one JSON object. */
export async function stats(o: StatsOptions, out: Output): Promise<number> {
  const data = await callHub({
    method: 'GET',
    url: o.url,
    token: o.token,
    origin: undefined,
    timeoutMs: o.timeoutMs,
    signal: out.signal,
    notFoundHint: "the hub's HTTP handler serves stats unless its stats option is 'off'",
  });
  if (o.json) {
    out.out(JSON.stringify(data));
    return ExitCode.Ok;
  }
  const entries = Object.entries(typeof data === 'object' && data !== null ? data : { value: data });
  // Status first: it is the one line people look for.
  entries.sort(([a], [b]) => (a === 'status' ? -1 : b === 'status' ? 1 : 0));
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  for (const [key, value] of entries) {
    const shown = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
    out.out(`${printable(key).padEnd(width)}  ${printable(shown)}`);
  }
  return ExitCode.Ok;
}
