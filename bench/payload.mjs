// The message every variant fans out: a valid `lab_result` payload (~300 bytes of JSON), and a
// notification id that carries the bench stamp (run, message index, publish time) the clients use
// to count deliveries and compute latency. The stamp rides in the id, not the payload, because the
// hub validates `lab_result` payloads against their schema and strips undeclared fields.

export const TOPIC = 'patient:p1';
export const PRIORITY = 'critical';
/** The bench's session cookie: `wardcast-cookie` clients send `Cookie: wc_session=<userId>` on the upgrade. */
export const SESSION_COOKIE = 'wc_session';

/**
 * BENCH_SIZE=<bytes> (inherited by the children) pads every message to about that many bytes of
 * JSON with a `note` field; the kind is then `custom`, since `lab_result` strips undeclared fields.
 */
const SIZE = Number(process.env.BENCH_SIZE ?? 0);
/** Bytes of the default frame (the hub's envelope around the `lab_result` payload below). */
export const DEFAULT_FRAME_BYTES = 510;
export const KIND = SIZE > 0 ? 'custom' : 'lab_result';
const NOTE = SIZE > 0 ? 'n'.repeat(Math.max(0, SIZE - DEFAULT_FRAME_BYTES - 10)) : undefined;

/**
 * Milliseconds on the machine-wide monotonic clock (CLOCK_MONOTONIC), comparable across processes.
 * Not `performance.timeOrigin + performance.now()`: each process fixes its timeOrigin from the wall
 * clock at start, and wall-clock adjustments in between made cross-process latencies go negative.
 */
export const now = () => Number(process.hrtime.bigint()) / 1e6;

export function makePayload() {
  return {
    labOrderId: 'LAB-2026-004217',
    testName: 'Potassium [Moles/volume] in Serum or Plasma',
    testCode: '2823-3',
    status: 'final',
    abnormal: true,
    critical: true,
    resultAt: '2026-11-23T06:50:00.000Z',
    value: '6.1',
    unit: 'mmol/L',
    referenceRange: '3.5-5.1 mmol/L',
    ...(NOTE === undefined ? {} : { note: NOTE }),
  };
}

/** Notification id of message `i` of run `run`, published at `ts`. */
export const benchId = (run, i, ts) => `bench:${run}:${i}:${ts.toFixed(3)}`;

/** { run, i, ts } from a notification id made by benchId, or undefined. */
export function parseBenchId(id) {
  if (typeof id !== 'string' || !id.startsWith('bench:')) return undefined;
  const [, run, i, ts] = id.split(':');
  return { run: Number(run), i: Number(i), ts: Number(ts) };
}
