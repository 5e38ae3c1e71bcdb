/**
 * An order-independent digest of an object's rows (restore verification):
 * the count, and the sum modulo 2^64 of each row's CRC-64/XZ. Re-reading a
 * restored copy in any order gives the same value; a lost, added or
 * changed row changes it. It is a check against accidents, not a
 * cryptographic proof (the backup's SHA-256 is that); the sum, unlike an
 * XOR, does not cancel out two identical rows.
 *
 * @module
 */
import { crc64XzInto, crc64XzPairInto } from "../bytes/crc64.ts";

/** Rows seen and their digest. */
export class RowDigest {
  #rows = 0;
  #lo = 0;
  #hi = 0;

  readonly #crc = new Uint32Array(2);

  /** Adds one row, given as its canonical bytes. */
  add(row: Uint8Array): void {
    crc64XzInto(row, this.#crc);
    this.#sum();
  }

  /** Adds one row given in two pieces (`first` then `second`), as if joined. */
  addPair(first: Uint8Array, second: Uint8Array): void {
    crc64XzPairInto(first, second, this.#crc);
    this.#sum();
  }

  #sum(): void {
    const lo = this.#lo + this.#crc[0];
    this.#lo = lo >>> 0;
    this.#hi = (this.#hi + this.#crc[1] + (lo > 0xffffffff ? 1 : 0)) >>> 0;
    this.#rows++;
  }

  /** Counts a row without digesting it (a check that only counts). */
  count(): void {
    this.#rows++;
  }

  /** Rows added. */
  get rows(): number {
    return this.#rows;
  }

  /** The digest: 16 lowercase hex digits. */
  hex(): string {
    return this.#hi.toString(16).padStart(8, "0") + this.#lo.toString(16).padStart(8, "0");
  }
}
