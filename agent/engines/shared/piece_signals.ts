/**
 * What passes between a driver's row callbacks and a generator that yields
 * once per full piece of a dump: a piece is full, the rows ended, or they
 * failed. The callbacks run as the driver's events come (one call per row,
 * no promise per row); the generator sleeps until one of them signals.
 *
 * @module
 */

/** Signals from row callbacks, read by {@linkcode PieceSignals.pieces}. */
export class PieceSignals {
  #full = false;
  #ended = false;
  #failure: Error | null = null;
  #wake: (() => void) | null = null;

  #notify(): void {
    this.#wake?.();
    this.#wake = null;
  }

  /** A piece is full: the generator yields once it runs. */
  full(): void {
    this.#full = true;
    this.#notify();
  }

  /** The rows ended: the generator returns once it has yielded any full piece. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** The rows failed: the generator throws `error` (the last one reported). */
  fail(error: Error): void {
    this.#failure = error;
    this.#notify();
  }

  /** Whether the rows ended or failed already. */
  get settled(): boolean {
    return this.#ended || this.#failure !== null;
  }

  /**
   * Yields once per full piece, then calls `resume` (the caller has taken
   * the piece and wants more); returns when the rows end, throws their
   * failure. A failure wins over a full piece or the end.
   */
  async *pieces(resume: () => void): AsyncGenerator<void> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (this.#full) {
        this.#full = false;
        yield;
        resume();
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }
}
