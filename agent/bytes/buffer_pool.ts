/**
 * Buffers of one size, lent and taken back, so that a stream of pieces
 * reuses a few buffers instead of allocating one per piece.
 *
 * Dead buffers are freed only when V8 collects garbage, and a stream that
 * makes few JavaScript objects (the PostgreSQL COPY path) collects rarely:
 * a fresh 320 KiB buffer per piece let some 40 MiB of dead pieces pile up
 * during a backup. A buffer comes back only from the one place that knows
 * its bytes are no longer read (the compressor, once it has taken a piece
 * in); one that never comes back is simply left to the garbage collector.
 *
 * @module
 */

/** Lends buffers of `size` bytes and keeps up to `keep` returned ones. */
export class BufferPool {
  readonly #size: number;
  readonly #keep: number;
  readonly #free: ArrayBuffer[] = [];
  /** What is lent out: only those come back, each once. */
  readonly #lent = new WeakSet<ArrayBuffer>();

  /** A pool of `size`-byte buffers keeping at most `keep` free ones. */
  constructor(size: number, keep = 4) {
    this.#size = size;
    this.#keep = keep;
  }

  /** Bytes of each buffer. */
  get size(): number {
    return this.#size;
  }

  /** A buffer of {@linkcode BufferPool.size} bytes; its content is whatever it last held. */
  lend(): Uint8Array {
    const buffer = this.#free.pop() ?? new ArrayBuffer(this.#size);
    this.#lent.add(buffer);
    return new Uint8Array(buffer);
  }

  /**
   * Takes back the buffer `view` lies in, if this pool lent it and it has
   * not come back already; any other view is ignored. The caller must not
   * read or write it afterwards.
   */
  giveBack(view: Uint8Array): void {
    const buffer = view.buffer as ArrayBuffer;
    if (!this.#lent.delete(buffer)) return;
    if (this.#free.length < this.#keep) this.#free.push(buffer);
  }
}
