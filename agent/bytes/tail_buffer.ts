/**
 * Keeps the last N bytes of a stream (a hook's or a tool's output) for the
 * log, however much it writes.
 *
 * @example
 * ```ts
 * import { TailBuffer } from "./tail_buffer.ts";
 * const tail = new TailBuffer(4);
 * tail.push(new TextEncoder().encode("abcdef"));
 * console.assert(tail.text() === "cdef");
 * ```
 */
export class TailBuffer {
  readonly #limit: number;
  #chunks: Uint8Array[] = [];
  #size = 0;

  /** Keeps at most `limit` bytes. */
  constructor(limit = 8192) {
    this.#limit = limit;
  }

  /** Appends `chunk`, forgetting the oldest bytes past the limit. */
  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk.slice(Math.max(0, chunk.length - this.#limit)));
    this.#size += Math.min(chunk.length, this.#limit);
    while (this.#size - this.#chunks[0].length >= this.#limit) {
      this.#size -= this.#chunks.shift()!.length;
    }
  }

  /** The kept bytes as text (a cut UTF-8 sequence at the start is dropped). */
  text(): string {
    const all = new Uint8Array(this.#size);
    let at = 0;
    for (const chunk of this.#chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return new TextDecoder().decode(all.subarray(Math.max(0, all.length - this.#limit))).replace(
      /^\uFFFD+/,
      "",
    );
  }
}
