/**
 * dump -> header check -> compression -> v1 encryption -> SHA-256 -> sink,
 * streamed with backpressure (docs/backup-format.md section 1). The sink is a
 * staged file for an upload, or the user's output in local mode.
 *
 * @module
 */
import type { Compression } from "../../decrypt/decompress_stream.ts";
import { compressStream } from "../../decrypt/compress_stream.ts";
import { FrameEncryptStream } from "../../decrypt/frame_encrypt_stream.ts";
import { GarbageReleaseStream } from "../../decrypt/garbage_release_stream.ts";
import { Sha256Stream } from "../../decrypt/sha256_stream.ts";
import type { DumpFormat, DumpStream } from "../engines/shared/engine.ts";
import { HeaderCheckStream } from "../engines/shared/header_check_stream.ts";

/** What the pipeline needs. */
export interface PipelineOptions {
  dump: DumpStream;
  format: DumpFormat;
  compression: Compression;
  /** AES-GCM key of the DEK. */
  key: CryptoKey;
  /** Where the encrypted bytes go; not closed or aborted by the pipeline. */
  sink: WritableStream<Uint8Array>;
  /** Aborts everything (cancel, timeout, stall). */
  signal: AbortSignal;
  /** What the dump's garbage is (Engine.dumpGarbage); decides whether full GCs help. */
  garbage?: "buffers" | "objects";
  /** Told the bytes dumped so far, as they flow. */
  onDumped?: (bytes: number) => void;
}

/** What came out. */
export interface PipelineResult {
  /** Bytes the dump produced. */
  dumpedBytes: number;
  /** Bytes of the encrypted object. */
  encryptedBytes: number;
  /** Lowercase hex SHA-256 of the encrypted object. */
  sha256: string;
}

/**
 * Runs the pipeline to its end. Resolves only when every stage finished
 * and the dump itself reported a clean end; otherwise rejects and the
 * encrypted output lacks its terminator (a reader rejects it).
 */
export async function runBackupPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const hasher = new Sha256Stream();
  let dumpedBytes = 0;
  const writer = options.sink.getWriter();
  const sink = new WritableStream<Uint8Array>({
    write: (chunk) => writer.write(chunk),
  });
  // The dump may fail after its stream ended cleanly (exit status): both must succeed.
  const finished = options.dump.finished;
  finished.catch(() => {});
  const counted = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      dumpedBytes += chunk.length;
      options.onDumped?.(dumpedBytes);
      controller.enqueue(chunk);
    },
    // The stream ends only once the dump says it ended cleanly: a dump that fails
    // after its last byte never gets the terminator, so no reader takes it as whole
    // (a local backup to standard output has already passed every other byte on).
    flush: () => finished,
  });
  try {
    await options.dump.readable
      .pipeThrough(new HeaderCheckStream(options.format), { signal: options.signal })
      .pipeThrough(counted)
      // Counted on the dump's bytes: the stage that allocates the most.
      .pipeThrough(
        new GarbageReleaseStream(
          undefined,
          options.garbage === "objects" ? Infinity : undefined,
        ),
      )
      // The compressor hands each piece back once read, for the dump to reuse.
      .pipeThrough(compressStream(options.compression, options.dump.recycle))
      .pipeThrough(new FrameEncryptStream(options.key))
      .pipeThrough(hasher)
      .pipeTo(sink, { signal: options.signal });
    await finished;
  } finally {
    writer.releaseLock();
  }
  return { dumpedBytes, encryptedBytes: hasher.bytes, sha256: hasher.hex() };
}
