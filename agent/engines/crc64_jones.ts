/**
 * CRC-64 "Jones", the checksum at the end of every RDB file (engines.md
 * section 1): reflected, polynomial 0xad93d23594c935a9 (0x95ac9329ac4bc9b5
 * bit-reversed, as the shift-right table needs it), init 0, xorout 0.
 * Computed on two 32-bit halves so it needs no BigInt per byte.
 *
 * @module
 */

const POLY_LO = 0xac4bc9b5;
const POLY_HI = 0x95ac9329;
const TABLE_LO = new Uint32Array(256);
const TABLE_HI = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let lo = n;
  let hi = 0;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      lo = (lo ^ POLY_LO) >>> 0;
      hi = (hi ^ POLY_HI) >>> 0;
    }
  }
  TABLE_LO[n] = lo;
  TABLE_HI[n] = hi;
}

/**
 * An incremental CRC-64/Jones.
 *
 * @example
 * ```ts
 * import { Crc64Jones } from "./crc64_jones.ts";
 * const crc = new Crc64Jones();
 * crc.update(new TextEncoder().encode("123456789"));
 * console.assert(crc.value() === 0xe9c6d914c4b8d9can);
 * ```
 */
export class Crc64Jones {
  #lo = 0;
  #hi = 0;

  /** Adds `bytes`. */
  update(bytes: Uint8Array): void {
    let lo = this.#lo;
    let hi = this.#hi;
    for (let i = 0; i < bytes.length; i++) {
      const index = (lo ^ bytes[i]) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ TABLE_LO[index];
      hi = (hi >>> 8) ^ TABLE_HI[index];
    }
    this.#lo = lo >>> 0;
    this.#hi = hi >>> 0;
  }

  /** The checksum so far. */
  value(): bigint {
    return (BigInt(this.#hi >>> 0) << 32n) | BigInt(this.#lo >>> 0);
  }
}
