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
import { flushRowSums, stageRow, stageRows } from "../bytes/crc64_row_sums.ts";

/** Rows seen and their digest. */
export class RowDigest {
  #rows = 0;
  #lo = 0;
  #hi = 0;

  /** Where the row summer hands the sums of this digest's rows. */
  readonly #owner = {
    addSum: (lo: number, hi: number) => {
      const sum = this.#lo + lo;
      this.#lo = sum >>> 0;
      this.#hi = (this.#hi + hi + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    },
  };

  /** Adds one row, given as its canonical bytes. */
  add(row: Uint8Array): void {
    stageRow(this.#owner, row);
    this.#rows++;
  }

  /** Adds one row given in two pieces (`first` then `second`), as if joined. */
  addPair(first: Uint8Array, second: Uint8Array): void {
    stageRow(this.#owner, first, second);
    this.#rows++;
  }

  /**
   * Adds `count` rows that lie one after another in `rows`, row i ending
   * at `ends[i]` (a table's COPY data as it arrived): faster than row by row.
   */
  addRows(rows: Uint8Array, ends: Uint32Array, count: number): void {
    stageRows(this.#owner, rows, ends, count);
    this.#rows += count;
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
    flushRowSums(this.#owner);
    return this.#hi.toString(16).padStart(8, "0") + this.#lo.toString(16).padStart(8, "0");
  }
}
