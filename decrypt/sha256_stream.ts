/**
 * A pass-through stream that hashes what flows through it with SHA-256 and
 * counts the bytes. Web Crypto has no incremental digest, so the hash is
 * `node:crypto`'s.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * Hashes every chunk and passes it on unchanged. After the stream has
 * closed, {@linkcode Sha256Stream.hex} is the lowercase hex digest.
 *
 * @example
 * ```ts
 * import { Sha256Stream } from "./sha256_stream.ts";
 * const hasher = new Sha256Stream();
 * await ReadableStream.from([new Uint8Array(4)]).pipeThrough(hasher).pipeTo(new WritableStream());
 * console.assert(hasher.hex() === "df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119");
 * ```
 */
export class Sha256Stream extends TransformStream<Uint8Array, Uint8Array> {
  #digest: string | null = null;
  #bytes = 0;

  /** A new hasher. */
  constructor() {
    const hash = createHash("sha256");
    super({
      transform: (chunk, controller) => {
        hash.update(chunk);
        this.#bytes += chunk.length;
        controller.enqueue(chunk);
      },
      flush: () => {
        this.#digest = hash.digest("hex");
      },
    });
  }

  /** Bytes hashed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The lowercase hex digest; throws before the stream has ended. */
  hex(): string {
    if (this.#digest === null) {
      throw new Error("internal error: SHA-256 read before the stream ended");
    }
    return this.#digest;
  }
}
