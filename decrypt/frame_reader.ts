/**
 * Splits a v1 encrypted stream into frames without decrypting them, checking
 * the structure as it goes: frame-length bounds, the terminator, and nothing
 * after it. The decryptor and `inspect` both read through it.
 *
 * @module
 */
import { FrameLengthError, TrailingBytesError, TruncatedError } from "./errors.ts";
import { LENGTH_SIZE, MAX_FRAME_LENGTH, MIN_FRAME_LENGTH } from "./v1_format.ts";

/** One frame as read from the stream: `nonce | ciphertext | tag`. */
export interface Frame {
  /** Zero-based position of the frame in the file. */
  index: number;
  /** Byte offset of the frame's length prefix in the file. */
  offset: number;
  /** The frame's bytes after the length prefix (`length` of them). */
  body: Uint8Array<ArrayBuffer>;
}

/**
 * A push parser: feed it the file's bytes in any chunking with
 * {@linkcode FrameReader.push}, get whole frames back, and call
 * {@linkcode FrameReader.finish} at the end of input. Like age's stream
 * reader, it remembers its first error and throws it forever after.
 *
 * @example
 * ```ts
 * import { FrameReader } from "./frame_reader.ts";
 * const reader = new FrameReader();
 * console.assert(reader.push(new Uint8Array(4)).length === 0); // just a terminator
 * reader.finish();
 * console.assert(reader.frameCount === 0 && reader.terminated);
 * ```
 */
export class FrameReader {
  #offset = 0; // bytes consumed so far
  #frameIndex = 0;
  #lengthBytes = new Uint8Array(LENGTH_SIZE);
  #lengthFilled = 0;
  #body: Uint8Array<ArrayBuffer> | null = null;
  #bodyFilled = 0;
  #bodyOffset = 0;
  #terminated = false;
  #error: Error | null = null;

  /** Frames returned so far. */
  get frameCount(): number {
    return this.#frameIndex;
  }

  /** Whether the end-of-stream marker has been read. */
  get terminated(): boolean {
    return this.#terminated;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Consumes `chunk`; returns the frames it completed, in order. */
  push(chunk: Uint8Array): Frame[] {
    if (this.#error) throw this.#error;
    try {
      return this.#push(chunk);
    } catch (error) {
      this.#error = error as Error;
      throw error;
    }
  }

  /** Declares the end of input; throws if the stream is incomplete. */
  finish(): void {
    if (this.#error) throw this.#error;
    if (this.#terminated) return;
    this.#error = this.#truncation();
    throw this.#error;
  }

  #truncation(): TruncatedError {
    const frame = this.#frameIndex;
    if (this.#body) {
      return new TruncatedError(
        `file is truncated in frame ${frame} at offset ${this.#bodyOffset}: ` +
          `${this.#bodyFilled} of ${this.#body.length} bytes present`,
        frame,
        this.#bodyOffset,
      );
    }
    if (this.#lengthFilled > 0) {
      return new TruncatedError(
        `file is truncated at offset ${this.#offset - this.#lengthFilled}: ` +
          `${this.#lengthFilled} of the 4 bytes of a frame length`,
        frame,
        this.#offset - this.#lengthFilled,
      );
    }
    const after = frame === 0 ? "before the first frame" : `after frame ${frame - 1}`;
    return new TruncatedError(
      `file is truncated: no end-of-stream marker ${after}`,
      frame,
      this.#offset,
    );
  }

  #push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#terminated) {
        throw new TrailingBytesError(
          `${chunk.length - at}+ bytes after the end-of-stream marker at offset ${this.#offset}: ` +
            "the file is corrupted or has data appended",
          this.#frameIndex,
          this.#offset,
        );
      }
      if (this.#body === null && this.#lengthFilled === 0 && chunk.length - at >= LENGTH_SIZE) {
        // Fast path: a whole frame inside this chunk is handed on as a view,
        // without a copy (reads of FULL_FRAME_STRIDE bytes hit it every time).
        const length = new DataView(chunk.buffer, chunk.byteOffset + at, LENGTH_SIZE).getUint32(0);
        if (length !== 0 && at + LENGTH_SIZE + length <= chunk.length) {
          const offset = this.#offset;
          this.#checkLength(length, offset);
          const start = at + LENGTH_SIZE;
          frames.push({
            index: this.#frameIndex++,
            offset,
            body: chunk.subarray(start, start + length) as Uint8Array<ArrayBuffer>,
          });
          at = start + length;
          this.#offset += LENGTH_SIZE + length;
          continue;
        }
      }
      if (this.#body === null) {
        const take = Math.min(LENGTH_SIZE - this.#lengthFilled, chunk.length - at);
        this.#lengthBytes.set(chunk.subarray(at, at + take), this.#lengthFilled);
        this.#lengthFilled += take;
        at += take;
        this.#offset += take;
        if (this.#lengthFilled < LENGTH_SIZE) break;
        this.#lengthFilled = 0;
        this.#startFrame(new DataView(this.#lengthBytes.buffer).getUint32(0));
        continue;
      }
      const body = this.#body;
      const take = Math.min(body.length - this.#bodyFilled, chunk.length - at);
      body.set(chunk.subarray(at, at + take), this.#bodyFilled);
      this.#bodyFilled += take;
      at += take;
      this.#offset += take;
      if (this.#bodyFilled === body.length) {
        frames.push({ index: this.#frameIndex, offset: this.#bodyOffset, body });
        this.#frameIndex++;
        this.#body = null;
      }
    }
    return frames;
  }

  #startFrame(length: number): void {
    const offset = this.#offset - LENGTH_SIZE;
    if (length === 0) {
      this.#terminated = true;
      return;
    }
    this.#checkLength(length, offset);
    this.#body = new Uint8Array(length);
    this.#bodyFilled = 0;
    this.#bodyOffset = offset;
  }

  #checkLength(length: number, offset: number): void {
    if (length > MAX_FRAME_LENGTH) {
      throw new FrameLengthError(
        `frame length ${length} at offset ${offset} exceeds the maximum ${MAX_FRAME_LENGTH}: not a v1 backup file?`,
        this.#frameIndex,
        offset,
      );
    }
    if (length < MIN_FRAME_LENGTH) {
      throw new FrameLengthError(
        `frame length ${length} at offset ${offset} is below the minimum ${MIN_FRAME_LENGTH}: not a v1 backup file?`,
        this.#frameIndex,
        offset,
      );
    }
  }
}
