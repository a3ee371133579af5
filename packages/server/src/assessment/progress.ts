/**
 * Coalesces streamed text deltas into at most one progress frame per interval: the first delta
 * is emitted at once (leading edge), later ones when the interval since the last frame has
 * passed (trailing edge), each frame carrying the whole text so far (up to `maxChars`).
 *
 * @example
 * ```ts
 * const coalescer = new TextCoalescer(100, 8000, (text, total) => publish({ partialText: text }));
 * llm.synthesize(input, { signal, onText: (delta) => coalescer.push(delta) });
 * // ...when done or aborted:
 * coalescer.stop();
 * ```
 */
export class TextCoalescer {
  readonly #intervalMs: number;
  readonly #maxChars: number;
  readonly #emit: (text: string, totalChars: number) => void;
  #text = '';
  #total = 0;
  #dirty = false;
  #stopped = false;
  #lastEmit = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(intervalMs: number, maxChars: number, emit: (text: string, totalChars: number) => void) {
    this.#intervalMs = intervalMs;
    this.#maxChars = maxChars;
    this.#emit = emit;
  }

  /** The text kept so far (at most `maxChars`). */
  get text(): string {
    return this.#text;
  }

  /** Adds a delta; emits now or schedules a frame. Ignored after {@link stop}. */
  push(delta: string): void {
    if (this.#stopped || typeof delta !== 'string' || delta === '') return;
    this.#total += delta.length;
    if (this.#text.length >= this.#maxChars) return;
    this.#text = (this.#text + delta).slice(0, this.#maxChars);
    this.#dirty = true;
    if (this.#timer !== undefined) return;
    const wait = this.#lastEmit + this.#intervalMs - performance.now();
    if (wait <= 0) this.#flush();
    else this.#timer = setTimeout(() => this.#flush(), wait);
  }

  /** Starts the text over (a retry streams from scratch); the next delta is published as usual. */
  reset(): void {
    this.#text = '';
    this.#total = 0;
  }

  /** Drops any pending frame and ignores later deltas. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#stopped || !this.#dirty) return;
    this.#dirty = false;
    this.#lastEmit = performance.now();
    this.#emit(this.#text, this.#total);
  }
}

/** A progress estimate for the synthesis stage: 20 → 95 % as text streams in (never 100). */
export function synthesisPercent(totalChars: number): number {
  return 20 + Math.round(75 * (1 - Math.exp(-totalChars / 2000)));
}
