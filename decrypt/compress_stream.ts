/**
 * Compression for the backup pipeline (docs/backup-format.md section 3): zstd
 * (the default, level 3, content checksum on, one frame per backup), gzip,
 * or none.
 *
 * @module
 */
import type { Compression } from "./decompress_stream.ts";
import { ZSTD_CONTINUE, ZSTD_END, zstdCompressHandle } from "./zlib_sync_handle.ts";

/** zstd level the Go agent used and ours keeps. */
export const ZSTD_LEVEL = 3;

/** zstd as one frame; an empty input gives zero bytes. */
function zstdCompressStream(
  level: number,
  consumed?: (chunk: Uint8Array) => void,
): TransformStream<Uint8Array, Uint8Array> {
  const handle = zstdCompressHandle(level);
  let sawInput = false;
  return new TransformStream({
    transform(chunk, controller) {
      if (chunk.length === 0) return;
      sawInput = true;
      for (const out of handle.write(chunk, ZSTD_CONTINUE)) controller.enqueue(out);
      consumed?.(chunk);
    },
    flush(controller) {
      try {
        if (sawInput) {
          for (const out of handle.write(new Uint8Array(0), ZSTD_END)) controller.enqueue(out);
        }
      } finally {
        handle.close();
      }
    },
    cancel() {
      handle.close();
    },
  });
}

/**
 * A compressing stage for `compression`; "none" passes bytes through.
 * `consumed`, when given, is told each input chunk that the stage has
 * taken in whole and will not read again (zstd only: it compresses each
 * chunk before the next), so its buffer can be reused.
 *
 * @example
 * ```ts
 * import { compressStream } from "./compress_stream.ts";
 * import { decompressStream } from "./decompress_stream.ts";
 * const packed = ReadableStream.from([new TextEncoder().encode("hello")]).pipeThrough(compressStream("zstd"));
 * console.assert(await new Response(decompressStream(packed)).text() === "hello");
 * ```
 */
export function compressStream(
  compression: Compression,
  consumed?: (chunk: Uint8Array) => void,
): TransformStream<Uint8Array, Uint8Array> {
  switch (compression) {
    case "zstd":
      return zstdCompressStream(ZSTD_LEVEL, consumed);
    case "gzip":
      // Deno types the writable as BufferSource; Uint8Array chunks are what it takes.
      return new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
    case "none":
      return new TransformStream();
  }
}
