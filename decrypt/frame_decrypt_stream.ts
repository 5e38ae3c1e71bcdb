/**
 * The streaming v1 decryptor: encrypted file bytes in, plaintext out, each
 * frame released only after AES-GCM authenticated it.
 *
 * @module
 */
import { AuthenticationError } from "./errors.ts";
import { type Frame, FrameReader } from "./frame_reader.ts";
import { OrderedQueue } from "./ordered_queue.ts";
import { NONCE_SIZE, TAG_SIZE } from "./v1_format.ts";

/** Options of {@linkcode FrameDecryptStream}. */
export interface FrameDecryptOptions {
  /** Frames authenticated in parallel (default 4). */
  concurrency?: number;
  /** Called after each frame authenticates. */
  onFrame?: (frame: Frame) => void;
}

/** Decrypts and authenticates one frame. */
export async function openFrame(key: CryptoKey, frame: Frame): Promise<Uint8Array> {
  const nonce = frame.body.subarray(0, NONCE_SIZE);
  const sealed = frame.body.subarray(NONCE_SIZE);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce, tagLength: TAG_SIZE * 8 },
      key,
      sealed,
    );
    return new Uint8Array(plain);
  } catch {
    throw new AuthenticationError(
      `AES-GCM authentication failed in frame ${frame.index} at offset ${frame.offset}: ` +
        "wrong key or corrupted file",
      frame.index,
      frame.offset,
    );
  }
}

/**
 * Decrypts a v1 stream. Errors are typed ({@linkcode AuthenticationError},
 * `FrameLengthError`, `TruncatedError`, `TrailingBytesError`) and name the
 * frame and byte offset. The stream errors if the end-of-stream marker is
 * missing, so a consumer never mistakes a cut file for a whole one; it does
 * not check the whole-file SHA-256 (reordered or dropped whole frames): hash
 * the input alongside.
 *
 * @example
 * ```ts
 * import { FrameDecryptStream } from "./frame_decrypt_stream.ts";
 * const key = await crypto.subtle.importKey("raw", new Uint8Array(32), "AES-GCM", false, ["decrypt"]);
 * const empty = ReadableStream.from([new Uint8Array(4)]).pipeThrough(new FrameDecryptStream(key));
 * console.assert((await new Response(empty).bytes()).length === 0);
 * ```
 */
export class FrameDecryptStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Decrypts with `key` (an AES-GCM key from `importDek`). */
  constructor(key: CryptoKey, options: FrameDecryptOptions = {}) {
    const concurrency = Math.max(1, options.concurrency ?? 4);
    const reader = new FrameReader();
    const queue = new OrderedQueue<Uint8Array>();
    const started = (frame: Frame) =>
      openFrame(key, frame).then((plain) => {
        options.onFrame?.(frame);
        return plain;
      });
    let controllerRef: TransformStreamDefaultController<Uint8Array>;
    const emit = (plain: Uint8Array) => {
      if (plain.length > 0) controllerRef.enqueue(plain);
    };
    super({
      start(controller) {
        controllerRef = controller;
      },
      async transform(chunk) {
        for (const frame of reader.push(chunk)) {
          queue.add(started(frame));
          await queue.drainTo(concurrency - 1, emit);
        }
      },
      async flush() {
        // Earlier frames' authentication failures come before a truncation.
        await queue.drainTo(0, emit);
        reader.finish();
      },
    });
  }
}
