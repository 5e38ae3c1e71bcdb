/**
 * Constants of the v1 encrypted backup format (docs/backup-format.md section 2):
 *
 * ```
 * file       = frame* terminator
 * frame      = len (u32 BE) | nonce (12) | ciphertext (len - 28) | tag (16)
 * terminator = 00 00 00 00
 * ```
 *
 * There is no header: the version travels out of band, in the token.
 * Nothing outside `decrypt/` should need to know this layout.
 *
 * @module
 */

/** Plaintext bytes in every frame but the last (1 MiB). */
export const CHUNK_SIZE = 1024 * 1024;
/** AES-GCM nonce length: 96 bits, fresh from the CSPRNG for every frame. */
export const NONCE_SIZE = 12;
/** AES-GCM tag length: 128 bits. */
export const TAG_SIZE = 16;
/** Bytes a frame adds around its plaintext, not counting the length prefix. */
export const FRAME_OVERHEAD = NONCE_SIZE + TAG_SIZE;
/** Bytes of the big-endian length prefix before each frame. */
export const LENGTH_SIZE = 4;
/** Smallest valid non-zero frame length: an empty frame (accepted, never written). */
export const MIN_FRAME_LENGTH = FRAME_OVERHEAD;
/** Largest valid frame length: a full 1 MiB chunk (1,048,604). */
export const MAX_FRAME_LENGTH = CHUNK_SIZE + FRAME_OVERHEAD;
/** Distance between the starts of two full frames (1,048,608). */
export const FULL_FRAME_STRIDE = LENGTH_SIZE + MAX_FRAME_LENGTH;
/** The end-of-stream marker: a zero frame length. */
export const TERMINATOR: Uint8Array = new Uint8Array(LENGTH_SIZE);

/**
 * The size of the v1 file for `plainSize` bytes of (compressed) plaintext:
 * 4 + 32 * N + P with N = ceil(P / 1 MiB).
 *
 * @example
 * ```ts
 * import { encryptedSize } from "./v1_format.ts";
 * console.assert(encryptedSize(0) === 4);
 * console.assert(encryptedSize(1) === 37);
 * ```
 */
export function encryptedSize(plainSize: number): number {
  const frames = Math.ceil(plainSize / CHUNK_SIZE);
  return LENGTH_SIZE + frames * (LENGTH_SIZE + FRAME_OVERHEAD) + plainSize;
}
