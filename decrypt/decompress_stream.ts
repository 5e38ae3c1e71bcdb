/**
 * Decompression of a decrypted backup: zstd or gzip, told apart by their
 * magic bytes, never guessed.
 *
 * @module
 */
import { concatBytes } from "./concat_bytes.ts";
import { DecompressionError } from "./errors.ts";
import {
  type SyncZlibHandle,
  ZSTD_CONTINUE,
  ZSTD_END,
  zstdDecompressHandle,
} from "./zlib_sync_handle.ts";
import { ZstdFrameScanner } from "./zstd_frame_scanner.ts";

/** Compressions a v1 backup may carry. */
export type Compression = "zstd" | "gzip" | "none";

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * The compression `head` (the first bytes of the plaintext) starts with:
 * "zstd", "gzip", null when it is neither, or undefined while `head` is too
 * short to tell.
 *
 * @example
 * ```ts
 * import { detectCompression } from "./decompress_stream.ts";
 * console.assert(detectCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd])) === "zstd");
 * console.assert(detectCompression(new TextEncoder().encode("-- SQL")) === null);
 * console.assert(detectCompression(new Uint8Array([0x28, 0xb5])) === undefined);
 * ```
 */
export function detectCompression(head: Uint8Array): "zstd" | "gzip" | null | undefined {
  const matches = (magic: number[]) =>
    magic.every((byte, i) => i >= head.length || head[i] === byte);
  if (matches(GZIP_MAGIC)) return head.length >= GZIP_MAGIC.length ? "gzip" : undefined;
  if (matches(ZSTD_MAGIC)) return head.length >= ZSTD_MAGIC.length ? "zstd" : undefined;
  return null;
}

/** zstd: one decoder per frame; truncation is caught by the frame scanner. */
async function* zstdChunks(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const scanner = new ZstdFrameScanner();
  let decoder: SyncZlibHandle | null = null;
  try {
    for await (const chunk of source) {
      for (const segment of scanner.push(chunk)) {
        if (segment.skippable) continue;
        decoder ??= zstdDecompressHandle();
        try {
          yield* decoder.write(segment.bytes, segment.endsFrame ? ZSTD_END : ZSTD_CONTINUE);
        } catch (error) {
          throw new DecompressionError(`zstd data is corrupt: ${(error as Error).message}`);
        }
        if (segment.endsFrame) {
          decoder.close();
          decoder = null;
        }
      }
    }
    scanner.finish();
  } finally {
    decoder?.close();
  }
}

/** gzip through the platform's DecompressionStream, its errors made ours. */
async function* gzipChunks(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const inflated = ReadableStream.from(source).pipeThrough(
    // Deno types its writable as BufferSource; Uint8Array chunks are what it takes.
    new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  try {
    yield* inflated;
  } catch (error) {
    if (error instanceof DecompressionError) throw error;
    throw new DecompressionError(
      `gzip data is corrupt or truncated: ${(error as Error).message ?? String(error)}`,
    );
  }
}

async function* withHead(
  head: Uint8Array,
  rest: AsyncIterator<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield head;
  for (;;) {
    const { done, value } = await rest.next();
    if (done) return;
    yield value;
  }
}

async function* decompressChunks(
  source: ReadableStream<Uint8Array>,
  onDetected: (compression: "zstd" | "gzip") => void,
): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let head: Uint8Array = new Uint8Array(0);
  let found: "zstd" | "gzip" | null | undefined = undefined;
  try {
    while (found === undefined) {
      const { done, value } = await iterator.next();
      if (done) {
        if (head.length === 0) return; // an empty backup decompresses to nothing
        found = null;
        break;
      }
      head = concatBytes([head, value]);
      found = detectCompression(head);
    }
    if (found === null) {
      throw new DecompressionError(
        "decrypted data is neither zstd nor gzip (no magic bytes): if the backup was made " +
          "without compression, run again with --skip-decompress",
      );
    }
    onDetected(found);
    const all = withHead(head, iterator);
    yield* found === "zstd" ? zstdChunks(all) : gzipChunks(all);
  } finally {
    // Cancels the source when we stop early; its own complaint about being
    // cancelled must not hide the error that made us stop.
    await iterator.return?.()?.catch(() => {});
  }
}

/**
 * Decompresses `source`, detecting zstd or gzip from its first bytes. Input
 * that is neither fails at once with a message about `--skip-decompress`
 * (it never hangs); a truncated or corrupt stream fails at the latest at
 * its end; an empty input (an empty backup) gives an empty output.
 * `onDetected` learns the compression as soon as it is known.
 *
 * @example
 * ```ts
 * import { decompressStream } from "./decompress_stream.ts";
 * import { gzipSync } from "node:zlib";
 * const packed = new Uint8Array(gzipSync("hi"));
 * const out = decompressStream(ReadableStream.from([packed]));
 * console.assert(await new Response(out).text() === "hi");
 * ```
 */
export function decompressStream(
  source: ReadableStream<Uint8Array>,
  onDetected: (compression: "zstd" | "gzip") => void = () => {},
): ReadableStream<Uint8Array> {
  return ReadableStream.from(decompressChunks(source, onDetected));
}
