/**
 * The whole decryption of one backup as a stream pipeline:
 * encrypted bytes -> SHA-256 -> v1 frames authenticated and decrypted ->
 * (zstd | gzip) decompression -> output. Shared by the CLI's decrypt and
 * verify modes and by the agent's local verification.
 *
 * @module
 */
import { decompressStream } from "./decompress_stream.ts";
import { ChecksumMismatchError } from "./errors.ts";
import { FrameDecryptStream } from "./frame_decrypt_stream.ts";
import { GarbageReleaseStream } from "./garbage_release_stream.ts";
import { Sha256Stream } from "./sha256_stream.ts";

/** What {@linkcode decryptBackup} needs besides the streams. */
export interface DecryptBackupOptions {
  /** The AES-GCM key from `importDek`. */
  key: CryptoKey;
  /** Lowercase hex SHA-256 of the whole encrypted file; checked when given. */
  expectedSha256?: string;
  /** Decompress (detecting zstd or gzip) or pass the decrypted bytes through. */
  decompress: boolean;
  /** Aborts the pipeline (signals). */
  signal?: AbortSignal;
  /** Told the hasher, whose byte count is the progress through the input. */
  onStart?: (hasher: Sha256Stream) => void;
}

/** What a finished decryption found. */
export interface DecryptBackupResult {
  /** Bytes of the encrypted file. */
  encryptedBytes: number;
  /** Bytes written to the output. */
  outputBytes: number;
  /** Frames authenticated. */
  frames: number;
  /** Lowercase hex SHA-256 of the encrypted file. */
  sha256: string;
  /** What the decrypted stream was compressed with ("none" when not decompressed or empty). */
  compression: "zstd" | "gzip" | "none";
}

/**
 * Decrypts `input` into `output` and resolves only when every check passed:
 * every frame authenticated, the terminator present with nothing after it,
 * the decompressor finished with its checksum, and the SHA-256 equal to
 * `expectedSha256` when one is given. The output is neither closed nor
 * aborted, so a file can be fsynced and renamed by the caller; on failure the promise rejects
 * with a typed error and the caller discards what was written.
 */
export async function decryptBackup(
  input: ReadableStream<Uint8Array>,
  output: WritableStream<Uint8Array>,
  options: DecryptBackupOptions,
): Promise<DecryptBackupResult> {
  const hasher = new Sha256Stream();
  options.onStart?.(hasher);
  let frames = 0;
  let compression: DecryptBackupResult["compression"] = "none";
  let outputBytes = 0;
  let plain = input
    .pipeThrough(hasher)
    .pipeThrough(new FrameDecryptStream(options.key, { onFrame: () => frames++ }));
  if (options.decompress) {
    plain = decompressStream(plain, (found) => {
      compression = found;
    });
  }
  const writer = output.getWriter();
  const counted = new WritableStream<Uint8Array>({
    async write(chunk) {
      outputBytes += chunk.length;
      await writer.write(chunk);
    },
  });
  try {
    // Releasing garbage by output bytes covers the decompressor's buffers too.
    await plain.pipeThrough(new GarbageReleaseStream()).pipeTo(counted, { signal: options.signal });
  } finally {
    writer.releaseLock();
  }

  const sha256 = hasher.hex();
  if (options.expectedSha256 !== undefined && sha256 !== options.expectedSha256.toLowerCase()) {
    throw new ChecksumMismatchError(
      `SHA-256 of the encrypted file is ${sha256}, expected ${options.expectedSha256.toLowerCase()}: ` +
        "the file is corrupted, truncated or reordered",
    );
  }
  return { encryptedBytes: hasher.bytes, outputBytes, frames, sha256, compression };
}
