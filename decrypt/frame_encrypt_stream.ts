/**
 * The streaming v1 encryptor: plaintext in (any chunking), framed
 * AES-256-GCM out, ending with the terminator.
 *
 * @module
 */
import { OrderedQueue } from "./ordered_queue.ts";
import { CHUNK_SIZE, LENGTH_SIZE, NONCE_SIZE, TAG_SIZE, TERMINATOR } from "./v1_format.ts";

/** Options of {@linkcode FrameEncryptStream}. */
export interface FrameEncryptOptions {
  /** Frames sealed in parallel (default 2: enough to overlap with compression, and each one holds 2 MiB). */
  concurrency?: number;
  /** Fills a nonce; tests pass a deterministic one. Default: the CSPRNG. */
  randomNonce?: (nonce: Uint8Array) => void;
}

const defaultNonce = (nonce: Uint8Array) => {
  crypto.getRandomValues(nonce);
};

/** Seals one chunk: `[length prefix | nonce, ciphertext | tag]`, two pieces to avoid a copy. */
async function sealFrame(
  key: CryptoKey,
  plain: Uint8Array<ArrayBuffer>,
  randomNonce: (nonce: Uint8Array) => void,
): Promise<[Uint8Array, Uint8Array]> {
  const head = new Uint8Array(LENGTH_SIZE + NONCE_SIZE);
  const nonce = head.subarray(LENGTH_SIZE);
  randomNonce(nonce);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, tagLength: TAG_SIZE * 8 },
      key,
      plain,
    ),
  );
  new DataView(head.buffer).setUint32(0, NONCE_SIZE + sealed.length);
  return [head, sealed];
}

/**
 * Encrypts a stream into the v1 format. Every frame but the last holds
 * exactly 1 MiB: input is buffered until a chunk is full, so frame
 * boundaries never depend on how the upstream stage wrote. An empty frame is
 * never written. The terminator is written only when the input ends
 * cleanly: if the upstream stage fails, the output is left without it and
 * any reader rejects it as truncated.
 *
 * @example
 * ```ts
 * import { FrameEncryptStream } from "./frame_encrypt_stream.ts";
 * const key = await crypto.subtle.importKey("raw", new Uint8Array(32), "AES-GCM", false, ["encrypt"]);
 * const out = ReadableStream.from([new Uint8Array(3)]).pipeThrough(new FrameEncryptStream(key));
 * console.assert((await new Response(out).bytes()).length === 4 + 28 + 3 + 4);
 * ```
 */
export class FrameEncryptStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Encrypts with `key` (an AES-GCM key from `importDek`). */
  constructor(key: CryptoKey, options: FrameEncryptOptions = {}) {
    const concurrency = Math.max(1, options.concurrency ?? 2);
    const randomNonce = options.randomNonce ?? defaultNonce;
    const queue = new OrderedQueue<[Uint8Array, Uint8Array]>();
    let chunk = new Uint8Array(CHUNK_SIZE);
    let filled = 0;
    let controllerRef: TransformStreamDefaultController<Uint8Array>;
    const emit = ([head, sealed]: [Uint8Array, Uint8Array]) => {
      controllerRef.enqueue(head);
      controllerRef.enqueue(sealed);
    };
    super({
      start(controller) {
        controllerRef = controller;
      },
      async transform(input) {
        let at = 0;
        while (at < input.length) {
          const take = Math.min(CHUNK_SIZE - filled, input.length - at);
          chunk.set(input.subarray(at, at + take), filled);
          filled += take;
          at += take;
          if (filled === CHUNK_SIZE) {
            queue.add(sealFrame(key, chunk, randomNonce));
            chunk = new Uint8Array(CHUNK_SIZE);
            filled = 0;
            await queue.drainTo(concurrency - 1, emit);
          }
        }
      },
      async flush(controller) {
        if (filled > 0) queue.add(sealFrame(key, chunk.subarray(0, filled), randomNonce));
        await queue.drainTo(0, emit);
        controller.enqueue(TERMINATOR.slice());
      },
    });
  }
}
