/**
 * Walks the structure of a zstd stream (RFC 8878) without decompressing it:
 * frame headers, block headers and sizes, content checksums, skippable
 * frames. It says where each frame ends, and at the end of input whether the
 * stream stopped in the middle of a frame.
 *
 * Why: Deno's `node:zlib` zstd decoder returns the partial output of a
 * truncated frame without an error, and cannot continue into a second
 * frame. The scanner catches truncation and lets the caller start a fresh
 * decoder per frame.
 *
 * @module
 */
import { DecompressionError } from "./errors.ts";

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_MAGIC_BYTES = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]);
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_TYPE_RLE = 1;
const BLOCK_TYPE_RESERVED = 3;

/** A piece of input and whether it ends a frame. */
export interface ZstdSegment {
  /** Bytes of the current frame (a view into the input chunk). */
  bytes: Uint8Array;
  /** True for the bytes of a skippable frame (carry no content). */
  skippable: boolean;
  /** True when `bytes` ends the frame. */
  endsFrame: boolean;
}

type State =
  | { kind: "magic" }
  | { kind: "header"; need: number; have: number; buf: Uint8Array } // descriptor and the rest
  | { kind: "blockHeader"; have: number; buf: Uint8Array }
  | { kind: "skip"; remaining: number; then: "blockHeader" | "checksum" | "frameEnd" | "magic" }
  | { kind: "skippableSize"; have: number; buf: Uint8Array }
  | { kind: "skippableBody"; remaining: number };

/**
 * Feed it the compressed bytes in any chunking with
 * {@linkcode ZstdFrameScanner.push}; each call returns the input cut at frame
 * boundaries. {@linkcode ZstdFrameScanner.finish} throws if the input ended
 * inside a frame.
 */
export class ZstdFrameScanner {
  #state: State = { kind: "magic" };
  #magic = new Uint8Array(4);
  #magicHave = 0;
  #checksum = false;
  #skippable = false;
  #lastBlock = false;
  #frames = 0;
  #offset = 0;

  /** Whole frames seen so far (skippable ones included). */
  get frames(): number {
    return this.#frames;
  }

  /** Splits `chunk` at frame boundaries. */
  push(chunk: Uint8Array): ZstdSegment[] {
    const segments: ZstdSegment[] = [];
    let at = 0;
    let segmentStart = 0;
    const endSegment = (endsFrame: boolean) => {
      if (at > segmentStart || endsFrame) {
        const bytes = chunk.subarray(segmentStart, at);
        segments.push({ bytes, skippable: this.#skippable, endsFrame });
      }
      segmentStart = at;
    };
    while (at < chunk.length) {
      const state = this.#state;
      switch (state.kind) {
        case "magic": {
          const take = Math.min(4 - this.#magicHave, chunk.length - at);
          this.#magic.set(chunk.subarray(at, at + take), this.#magicHave);
          this.#magicHave += take;
          at += take;
          // The magic is held back until complete: only then is it known
          // whether the frame's bytes go to a decoder at all.
          segmentStart = at;
          if (this.#magicHave < 4) break;
          this.#magicHave = 0;
          const magic = new DataView(this.#magic.buffer).getUint32(0, true);
          if (magic === ZSTD_MAGIC) {
            this.#skippable = false;
            segments.push({ bytes: ZSTD_MAGIC_BYTES, skippable: false, endsFrame: false });
            this.#state = { kind: "header", need: 1, have: 0, buf: new Uint8Array(14) };
          } else if ((magic & SKIPPABLE_MAGIC_MASK) === SKIPPABLE_MAGIC) {
            this.#skippable = true;
            this.#state = { kind: "skippableSize", have: 0, buf: new Uint8Array(4) };
          } else {
            throw new DecompressionError(
              `zstd stream is corrupt: no frame magic at compressed offset ${
                this.#offset + at - 4
              }`,
            );
          }
          break;
        }
        case "header": {
          const take = Math.min(state.need - state.have, chunk.length - at);
          state.buf.set(chunk.subarray(at, at + take), state.have);
          state.have += take;
          at += take;
          if (state.have < state.need) break;
          if (state.need === 1) {
            state.need = 1 + headerRestSize(state.buf[0]);
            if (state.have < state.need) break;
          }
          this.#checksum = (state.buf[0] & 0x04) !== 0;
          this.#lastBlock = false;
          this.#state = { kind: "blockHeader", have: 0, buf: new Uint8Array(3) };
          break;
        }
        case "blockHeader": {
          const take = Math.min(3 - state.have, chunk.length - at);
          state.buf.set(chunk.subarray(at, at + take), state.have);
          state.have += take;
          at += take;
          if (state.have < 3) break;
          const header = state.buf[0] | (state.buf[1] << 8) | (state.buf[2] << 16);
          this.#lastBlock = (header & 1) === 1;
          const type = (header >> 1) & 3;
          const size = header >>> 3;
          if (type === BLOCK_TYPE_RESERVED) {
            throw new DecompressionError(
              `zstd stream is corrupt: reserved block type in frame ${this.#frames}`,
            );
          }
          const dataSize = type === BLOCK_TYPE_RLE ? 1 : size;
          const next = this.#lastBlock ? (this.#checksum ? "checksum" : "frameEnd") : "blockHeader";
          this.#state = { kind: "skip", remaining: dataSize, then: next };
          break;
        }
        case "skip": {
          const take = Math.min(state.remaining, chunk.length - at);
          state.remaining -= take;
          at += take;
          if (state.remaining > 0) break;
          if (state.then === "blockHeader") {
            this.#state = { kind: "blockHeader", have: 0, buf: new Uint8Array(3) };
          } else if (state.then === "checksum") {
            this.#state = { kind: "skip", remaining: 4, then: "frameEnd" };
          } else {
            this.#endFrame();
            endSegment(true);
          }
          break;
        }
        case "skippableSize": {
          const take = Math.min(4 - state.have, chunk.length - at);
          state.buf.set(chunk.subarray(at, at + take), state.have);
          state.have += take;
          at += take;
          if (state.have < 4) break;
          const size = new DataView(state.buf.buffer).getUint32(0, true);
          this.#state = { kind: "skippableBody", remaining: size };
          if (size === 0) {
            this.#endFrame();
            endSegment(true);
          }
          break;
        }
        case "skippableBody": {
          const take = Math.min(state.remaining, chunk.length - at);
          state.remaining -= take;
          at += take;
          if (state.remaining === 0) {
            this.#endFrame();
            endSegment(true);
          }
          break;
        }
      }
      // A "frameEnd" skip of zero bytes (last block empty, no checksum) ends here.
      const now = this.#state;
      if (now.kind === "skip" && now.remaining === 0 && now.then === "frameEnd") {
        this.#endFrame();
        endSegment(true);
      }
    }
    endSegment(false);
    this.#offset += chunk.length;
    return segments;
  }

  /** Throws {@linkcode DecompressionError} if the input ended inside a frame. */
  finish(): void {
    if (this.#state.kind === "magic" && this.#magicHave === 0) return;
    throw new DecompressionError(
      `compressed stream is truncated: zstd frame ${this.#frames} is incomplete ` +
        `after ${this.#offset} compressed bytes`,
    );
  }

  #endFrame(): void {
    this.#frames++;
    this.#state = { kind: "magic" };
  }
}

/** Bytes of a frame header after the descriptor byte (RFC 8878 3.1.1.1). */
function headerRestSize(descriptor: number): number {
  if ((descriptor & 0x08) !== 0) {
    throw new DecompressionError("zstd stream is corrupt: reserved bit set in a frame header");
  }
  const singleSegment = (descriptor & 0x20) !== 0;
  const fcsFlag = descriptor >> 6;
  const windowSize = singleSegment ? 0 : 1;
  const dictSize = [0, 1, 2, 4][descriptor & 3];
  const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag];
  return windowSize + dictSize + fcsSize;
}
