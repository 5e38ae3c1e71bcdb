/**
 * Docker's multiplexed attach stream (an exec without a TTY): frames of an
 * 8-byte header - stream type (1 stdout, 2 stderr), three zero bytes, a
 * big-endian uint32 length - and that many payload bytes. The parser hands
 * each payload to its stream's callback; tools write in small pieces, so
 * {@linkcode ChunkCoalescer} gathers stdout into large chunks before they
 * travel down the pipeline.
 *
 * @module
 */

/** Stream types in a frame header. */
const STDOUT = 1;
const STDERR = 2;

/**
 * Parses a multiplexed stream fed in arbitrary pieces.
 *
 * @example
 * ```ts
 * import { FrameParser } from "./multiplexed_stream.ts";
 * let out = "";
 * const parser = new FrameParser((b) => (out += new TextDecoder().decode(b)), () => {});
 * parser.feed(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 2, 104, 105]));
 * parser.finish();
 * console.assert(out === "hi");
 * ```
 */
export class FrameParser {
  readonly #onStdout: (bytes: Uint8Array) => void;
  readonly #onStderr: (bytes: Uint8Array) => void;
  readonly #header = new Uint8Array(8);
  #headerLength = 0;
  #streamType = 0;
  #remaining = 0;

  /** Payloads go to `onStdout` / `onStderr`, in order; they are views of the fed chunks. */
  constructor(onStdout: (bytes: Uint8Array) => void, onStderr: (bytes: Uint8Array) => void) {
    this.#onStdout = onStdout;
    this.#onStderr = onStderr;
  }

  /** Parses the next piece; throws on a frame no Docker engine writes. */
  feed(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining === 0) {
        const take = Math.min(8 - this.#headerLength, chunk.length - offset);
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerLength);
        this.#headerLength += take;
        offset += take;
        if (this.#headerLength < 8) return;
        this.#headerLength = 0;
        this.#streamType = this.#header[0];
        this.#remaining = new DataView(this.#header.buffer).getUint32(4);
        if (this.#streamType > STDERR) {
          throw new Error(`unexpected stream type ${this.#streamType} in Docker's exec output`);
        }
        continue;
      }
      const take = Math.min(this.#remaining, chunk.length - offset);
      const payload = chunk.subarray(offset, offset + take);
      offset += take;
      this.#remaining -= take;
      if (this.#streamType === STDOUT) this.#onStdout(payload);
      else if (this.#streamType === STDERR) this.#onStderr(payload);
    }
  }

  /** Throws when the stream ended inside a frame. */
  finish(): void {
    if (this.#remaining > 0 || this.#headerLength > 0) {
      throw new Error("Docker's exec output ended inside a frame");
    }
  }
}

/** Copies small pieces into chunks of `size` bytes; the last one may be shorter. */
export class ChunkCoalescer {
  readonly #size: number;
  readonly #emit: (chunk: Uint8Array) => void;
  #buffer: Uint8Array;
  #filled = 0;

  /** Full chunks (and the rest at {@linkcode ChunkCoalescer.flush}) go to `emit`. */
  constructor(size: number, emit: (chunk: Uint8Array) => void) {
    this.#size = size;
    this.#emit = emit;
    this.#buffer = new Uint8Array(size);
  }

  /** Adds bytes; emits every chunk they fill. */
  push(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(this.#size - this.#filled, bytes.length - offset);
      this.#buffer.set(bytes.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === this.#size) {
        this.#emit(this.#buffer);
        this.#buffer = new Uint8Array(this.#size);
        this.#filled = 0;
      }
    }
  }

  /** Emits what is buffered, if anything. */
  flush(): void {
    if (this.#filled === 0) return;
    this.#emit(this.#buffer.subarray(0, this.#filled));
    this.#buffer = new Uint8Array(this.#size);
    this.#filled = 0;
  }
}
