import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { TelemetryFrame } from '@wardcast/protocol';
import type { Session } from './session.js';

/** Sampling interval of the event loop delay histogram, ms. */
const LAG_RESOLUTION_MS = 20;

/** What the hub reports in every telemetry frame besides the per-connection RTT. */
export interface TelemetrySample {
  readonly connections: number;
  readonly broker: TelemetryFrame['broker'];
}

/**
 * Sends `telemetry` frames to the connections that opted in. One hub-wide interval (unref'd),
 * running only while at least one connection is opted in, and an event loop delay histogram
 * enabled only while it runs: no per-connection timers, nothing left after {@link close}.
 */
export class TelemetryTicker {
  readonly #sessions = new Set<Session>();
  readonly #intervalMs: number;
  readonly #sample: () => TelemetrySample;
  readonly #maxBufferedBytes: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lag: IntervalHistogram | undefined;
  #closed = false;

  constructor(intervalMs: number, maxBufferedBytes: number, sample: () => TelemetrySample) {
    this.#intervalMs = intervalMs;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.#sample = sample;
  }

  /** Connections opted in. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Whether the interval is running. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Opts `session` in or out; starts the interval with the first and stops it after the last. */
  set(session: Session, enabled: boolean): void {
    if (enabled && session.isOpen && !this.#closed) this.#sessions.add(session);
    else this.#sessions.delete(session);
    if (this.#sessions.size > 0) this.#start();
    else this.#stop();
  }

  /** Stops for good (hub shutdown). */
  close(): void {
    this.#closed = true;
    this.#sessions.clear();
    this.#stop();
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    this.#lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.#lag.enable();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref?.();
  }

  #stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#lag?.disable();
    this.#lag = undefined;
  }

  /**
   * p99 of the event loop delay since the last tick, minus the sampling interval the histogram
   * counts in, in ms (one decimal). With few samples (short intervals) this is about the worst delay.
   */
  #eventLoopLagMs(): number {
    const lag = this.#lag;
    if (!lag || lag.count === 0) return 0;
    const p99 = lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS;
    lag.reset();
    return Math.max(0, Math.round(p99 * 10) / 10);
  }

  #tick(): void {
    const { connections, broker } = this.#sample();
    const eventLoopLagMs = this.#eventLoopLagMs();
    const at = Date.now();
    for (const session of this.#sessions) {
      // Telemetry is optional: skip a connection that is already behind rather than add to its backlog.
      if (session.socket.bufferedAmount > this.#maxBufferedBytes / 2) continue;
      const rtt = session.rttMs === undefined ? {} : { rttMs: session.rttMs };
      session.send({ type: 'telemetry', ...rtt, connections, eventLoopLagMs, broker, at });
    }
  }
}
