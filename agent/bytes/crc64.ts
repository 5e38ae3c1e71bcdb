/**
 * The two reflected CRC-64s the dump formats use, computed on two 32-bit
 * halves so no BigInt is needed per byte:
 * - "Jones", at the end of every RDB file (docs/engines.md section 1):
 *   polynomial 0xad93d23594c935a9 (reflected 0x95ac9329ac4bc9b5), init 0,
 *   xorout 0; "123456789" gives 0xe9c6d914c4b8d9ca.
 * - "XZ" (Go's crc64.ECMA), in every mongodump archive's EOF blocks
 *   (docs/engines.md section 2): reflected polynomial 0xc96c5795d7870f42, init
 *   and xorout all ones; "123456789" gives 0x995dc9bbdf1939fa.
 *
 * @module
 */

/** A reflected CRC-64 variant: 8 tables of 256 entries, low and high halves. */
interface Variant {
  // Int32Array, not Uint32Array: values above 2^31 would leave V8's int32 fast path.
  tableLo: Int32Array;
  tableHi: Int32Array;
  /** All ones (init and xorout) or zero. */
  inverted: boolean;
}

function variant(reflectedPoly: bigint, inverted: boolean): Variant {
  const polyLo = Number(reflectedPoly & 0xffffffffn);
  const polyHi = Number(reflectedPoly >> 32n);
  const tableLo = new Int32Array(8 * 256);
  const tableHi = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let lo = n;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (carry) {
        lo = (lo ^ polyLo) >>> 0;
        hi = (hi ^ polyHi) >>> 0;
      }
    }
    tableLo[n] = lo;
    tableHi[n] = hi;
  }
  // Table k: the CRC of a byte followed by k zero bytes.
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prevLo = tableLo[(k - 1) * 256 + n];
      const prevHi = tableHi[(k - 1) * 256 + n];
      const index = prevLo & 0xff;
      tableLo[k * 256 + n] = ((prevLo >>> 8) | (prevHi << 24)) ^ tableLo[index];
      tableHi[k * 256 + n] = (prevHi >>> 8) ^ tableHi[index];
    }
  }
  return { tableLo, tableHi, inverted };
}

const JONES = variant(0x95ac9329ac4bc9b5n, false);
const XZ = variant(0xc96c5795d7870f42n, true);

/**
 * CRC-64/XZ's eight lookup tables (table k: a byte followed by k zero
 * bytes; entry `k * 256 + n`), as low and high 32-bit halves: for the
 * WebAssembly row summer, which must compute the very same CRC. Read only.
 */
export function crc64XzTables(): { lo: Int32Array; hi: Int32Array } {
  return { lo: XZ.tableLo, hi: XZ.tableHi };
}

/** The running [low, high] halves while {@linkcode advance} works: no array, no allocation per call. */
let runLo = 0;
let runHi = 0;

/**
 * Runs `bytes` through the CRC whose running halves are `runLo`/`runHi`
 * (the one loop both the incremental class and the per-row functions use):
 * eight bytes a step, then byte by byte. Bytes are read one by one: a
 * DataView per call would cost more than the CRC of a short row, and rows
 * are most of what goes through here.
 */
function advance(v: Variant, bytes: Uint8Array): void {
  const L = v.tableLo;
  const H = v.tableHi;
  let lo = runLo;
  let hi = runHi;
  let i = 0;
  const end8 = bytes.length - 7;
  for (; i < end8; i += 8) {
    lo ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    hi ^= bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
    const a = 7 * 256 + (lo & 0xff), b = 6 * 256 + ((lo >>> 8) & 0xff);
    const c = 5 * 256 + ((lo >>> 16) & 0xff), d = 4 * 256 + (lo >>> 24);
    const e = 3 * 256 + (hi & 0xff), f = 2 * 256 + ((hi >>> 8) & 0xff);
    const g = 256 + ((hi >>> 16) & 0xff), h = hi >>> 24;
    lo = L[a] ^ L[b] ^ L[c] ^ L[d] ^ L[e] ^ L[f] ^ L[g] ^ L[h];
    hi = H[a] ^ H[b] ^ H[c] ^ H[d] ^ H[e] ^ H[f] ^ H[g] ^ H[h];
  }
  for (; i < bytes.length; i++) {
    const index = (lo ^ bytes[i]) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ L[index];
    hi = (hi >>> 8) ^ H[index];
  }
  runLo = lo;
  runHi = hi;
}

/** An incremental reflected CRC-64. */
class Crc64 {
  readonly #v: Variant;
  /** The running [low, high] halves. */
  readonly #state: Int32Array;

  protected constructor(v: Variant) {
    this.#v = v;
    this.#state = new Int32Array(2).fill(v.inverted ? -1 : 0);
  }

  /** Adds `bytes`. */
  update(bytes: Uint8Array): void {
    runLo = this.#state[0];
    runHi = this.#state[1];
    advance(this.#v, bytes);
    this.#state[0] = runLo;
    this.#state[1] = runHi;
  }

  /** The checksum so far. */
  value(): bigint {
    const mask = this.#v.inverted ? 0xffffffff : 0;
    return (BigInt((this.#state[1] ^ mask) >>> 0) << 32n) | BigInt((this.#state[0] ^ mask) >>> 0);
  }
}

/**
 * CRC-64/Jones (RDB files).
 *
 * @example
 * ```ts
 * import { Crc64Jones } from "./crc64.ts";
 * const crc = new Crc64Jones();
 * crc.update(new TextEncoder().encode("123456789"));
 * console.assert(crc.value() === 0xe9c6d914c4b8d9can);
 * ```
 */
export class Crc64Jones extends Crc64 {
  constructor() {
    super(JONES);
  }
}

/**
 * CRC-64/XZ (mongodump archives).
 *
 * @example
 * ```ts
 * import { Crc64Xz } from "./crc64.ts";
 * const crc = new Crc64Xz();
 * crc.update(new TextEncoder().encode("123456789"));
 * console.assert(crc.value() === 0x995dc9bbdf1939fan);
 * ```
 */
export class Crc64Xz extends Crc64 {
  constructor() {
    super(XZ);
  }
}

/**
 * CRC-64/XZ of `bytes` into `out` as [low, high] 32-bit halves, without an
 * object or a BigInt: for per-row digests, called once per row.
 */
export function crc64XzInto(bytes: Uint8Array, out: Uint32Array): void {
  crcInto(XZ, bytes, out);
}

/** CRC `v` of `bytes` into `out` as [low, high] halves: the one-shot both variants share. */
function crcInto(v: Variant, bytes: Uint8Array, out: Uint32Array): void {
  const mask = v.inverted ? -1 : 0;
  runLo = mask;
  runHi = mask;
  advance(v, bytes);
  out[0] = runLo ^ mask;
  out[1] = runHi ^ mask;
}

/**
 * {@linkcode crc64XzInto} of `first` followed by `second`, without joining
 * them (a row made of a prefix and a name, per key of a large database).
 */
export function crc64XzPairInto(first: Uint8Array, second: Uint8Array, out: Uint32Array): void {
  runLo = -1;
  runHi = -1;
  advance(XZ, first);
  advance(XZ, second);
  out[0] = ~runLo;
  out[1] = ~runHi;
}

/**
 * CRC-64/Jones of `bytes` into `out` as [low, high] 32-bit halves, without
 * an object or a BigInt: for a checksum written per key (Redis RESTORE
 * payloads).
 */
export function crc64JonesInto(bytes: Uint8Array, out: Uint32Array): void {
  crcInto(JONES, bytes, out);
}
