import type { BufferPool } from "./buffer_pool.ts";
import { withRoom } from "./with_room.ts";

const HEX = new TextEncoder().encode("0123456789ABCDEF");

/**
 * A growable byte buffer for building dump text without a string per value.
 *
 * @example
 * ```ts
 * import { ByteBuilder } from "./byte_builder.ts";
 * const b = new ByteBuilder();
 * b.text("INSERT ");
 * b.byte(0x28);
 * console.assert(new TextDecoder().decode(b.take()) === "INSERT (");
 * ```
 */
export class ByteBuilder {
  #buffer: Uint8Array;
  #length = 0;
  readonly #pool?: BufferPool;
  static #encoder = new TextEncoder();

  /**
   * Starts with room for `capacity` bytes, or with a buffer of `pool`
   * (and takes each next one from it).
   */
  constructor(capacity = 64 * 1024, pool?: BufferPool) {
    this.#pool = pool;
    this.#buffer = pool ? pool.lend() : new Uint8Array(capacity);
  }

  /** Bytes written since the last take. */
  get length(): number {
    return this.#length;
  }

  #reserve(extra: number): void {
    this.#buffer = withRoom(this.#buffer, this.#length, this.#length + extra);
  }

  /** Appends one byte. */
  byte(value: number): void {
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
  }

  /** Appends bytes. */
  bytes(values: Uint8Array): void {
    this.#reserve(values.length);
    this.#buffer.set(values, this.#length);
    this.#length += values.length;
  }

  /**
   * Appends `count` spans of `source` one after another, span i being
   * `source[spans[2i], spans[2i+1])`, spans in order and not overlapping:
   * one copy of the whole stretch, then each span moved down over the gaps
   * (no object per span).
   */
  spans(source: Uint8Array, spans: Uint32Array, count: number): void {
    if (count === 0) return;
    const first = spans[0];
    this.#reserve(spans[2 * count - 1] - first);
    const buffer = this.#buffer;
    const shift = this.#length - first;
    buffer.set(source.subarray(first, spans[2 * count - 1]), this.#length);
    let at = this.#length;
    for (let i = 0; i < 2 * count; i += 2) {
      const from = spans[i] + shift;
      const to = spans[i + 1] + shift;
      if (from !== at) buffer.copyWithin(at, from, to);
      at += to - from;
    }
    this.#length = at;
  }

  /** Appends text as UTF-8. */
  text(value: string): void {
    this.#reserve(value.length * 3);
    this.#length +=
      ByteBuilder.#encoder.encodeInto(value, this.#buffer.subarray(this.#length)).written;
  }

  /**
   * Appends `value` as UTF-8 when it is ASCII, byte by byte without an
   * encoder call (protocol words and numbers, millions of times over);
   * returns false, having written nothing, when it is not ASCII.
   */
  ascii(value: string): boolean {
    const length = value.length;
    this.#reserve(length);
    const buffer = this.#buffer;
    const start = this.#length;
    for (let i = 0; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code > 0x7f) return false;
      buffer[start + i] = code;
    }
    this.#length += length;
    return true;
  }

  /** Appends a non-negative integer in decimal. */
  decimal(value: number): void {
    if (value < 10) return this.byte(0x30 + value);
    this.ascii(String(value));
  }

  /** Appends `0x` and the bytes as uppercase hex (a MySQL hex literal). */
  hex(values: Uint8Array): void {
    this.#reserve(2 + values.length * 2);
    const buffer = this.#buffer;
    let at = this.#length;
    buffer[at++] = 0x30; // 0
    buffer[at++] = 0x78; // x
    for (let i = 0; i < values.length; i++) {
      const b = values[i];
      buffer[at++] = HEX[b >> 4];
      buffer[at++] = HEX[b & 15];
    }
    this.#length = at;
  }

  /** Bytes `from`..`to` written since the last take: a view, valid until the next write. */
  view(from: number, to: number = this.#length): Uint8Array {
    return this.#buffer.subarray(from, to);
  }

  /** The bytes so far, leaving the builder empty. */
  take(): Uint8Array {
    const length = this.#length;
    this.#length = 0;
    // A mostly full buffer is handed over whole (no copy of every dumped byte) and
    // replaced; a mostly empty one keeps its room and gives a copy of what it holds.
    if (length < this.#buffer.length / 2) return this.#buffer.slice(0, length);
    const out = this.#buffer.subarray(0, length);
    // A pool's buffer even after growing past its size: the growth was for one large write.
    this.#buffer = this.#pool ? this.#pool.lend() : new Uint8Array(this.#buffer.length);
    return out;
  }
}
