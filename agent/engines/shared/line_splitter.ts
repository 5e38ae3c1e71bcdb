/**
 * Splits a byte stream into lines (newline included), across chunk
 * boundaries, without decoding: the verify checks digest the exact bytes.
 *
 * @module
 */
import { concatBytes } from "../../../decrypt/concat_bytes.ts";

const NEWLINE = 0x0a;

/** Feeds whole lines to `onLine`; a line split across chunks is joined first. */
export class LineSplitter {
  readonly #onLine: (line: Uint8Array) => void;
  #partial: Uint8Array[] = [];

  /** `onLine` gets views that stay valid only during the call. */
  constructor(onLine: (line: Uint8Array) => void) {
    this.#onLine = onLine;
  }

  /** Splits the next bytes. */
  push(chunk: Uint8Array): void {
    // A chunk that is exactly one line (pg_dump -Z0 writes each row as its own chunk).
    if (
      this.#partial.length === 0 && chunk.length > 0 &&
      chunk.indexOf(NEWLINE) === chunk.length - 1
    ) {
      return this.#onLine(chunk);
    }
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end < 0) {
        if (start < chunk.length) this.#partial.push(chunk.slice(start));
        return;
      }
      let line = chunk.subarray(start, end + 1);
      if (this.#partial.length) {
        this.#partial.push(line);
        line = concatBytes(this.#partial);
        this.#partial = [];
      }
      this.#onLine(line);
      start = end + 1;
    }
  }

  /** Bytes after the last newline (a dump that did not end with one). */
  get rest(): number {
    return this.#partial.reduce((n, p) => n + p.length, 0);
  }
}
