/**
 * A WritableStream onto an open file (or stdout) that writes every byte
 * before each write resolves and never closes the file itself.
 *
 * Why not `Deno.FsFile.writable`: in Deno 2.9, data piped into it with
 * `preventClose: true` never reached the file (it appeared only on the
 * stream's own close), and the safe-output protocol must fsync and rename
 * an open file after the pipe ends.
 *
 * @module
 */

/** Something with Deno's `write` (an `FsFile`, `Deno.stdout`). */
export interface Writer {
  /** Writes some of `bytes`, resolving to how many. */
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * A sink that writes each chunk completely with `writer.write`.
 *
 * @example
 * ```ts
 * import { fileSink } from "./file_sink.ts";
 * const path = await Deno.makeTempFile();
 * using file = await Deno.open(path, { write: true });
 * await ReadableStream.from([new Uint8Array([1, 2, 3])]).pipeTo(fileSink(file));
 * console.assert((await Deno.readFile(path)).length === 3);
 * ```
 */
export function fileSink(writer: Writer): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let at = 0; at < chunk.length;) at += await writer.write(chunk.subarray(at));
    },
  });
}
