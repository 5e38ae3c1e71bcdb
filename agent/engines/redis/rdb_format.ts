/**
 * What a complete Redis RDB snapshot looks like (docs/engines.md section 1):
 * `REDIS` + 4 version digits at the start; at the end the EOF opcode 0xFF
 * and a little-endian CRC-64/Jones of every byte before it (or zero when the
 * server runs with `rdbchecksum no`). Anything short of this is a failed run.
 *
 * @module
 */
import { Crc64Jones } from "../../bytes/crc64.ts";
import { describeBytes, type DumpFormat } from "../shared/engine.ts";

/** The header check for RDB files. */
export const RDB_FORMAT: DumpFormat = {
  description: "Redis RDB snapshot",
  headerBytes: 9,
  checkHeader(head) {
    const start = head.subarray(0, 9);
    const text = new TextDecoder().decode(start);
    return /^REDIS\d{4}$/.test(text)
      ? null
      : `expected "REDIS" and 4 digits, got ${describeBytes(start)}`;
  },
};

/**
 * Checks an RDB's trailer as its bytes stream past: feed every byte with
 * {@linkcode RdbTrailer.update}, then {@linkcode RdbTrailer.problem} says
 * what is wrong, or null for a complete file.
 *
 * @example
 * ```ts
 * import { RdbTrailer } from "./rdb_format.ts";
 * const trailer = new RdbTrailer();
 * trailer.update(new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0, 0]));
 * console.assert(trailer.problem() === null); // checksum disabled
 * ```
 */
export class RdbTrailer {
  #crc = new Crc64Jones();
  /** The last 8 bytes seen: held back from the CRC until more arrive. */
  #tail = new Uint8Array(8);
  #tailLength = 0;
  #lastCovered = -1;
  #total = 0;

  /** Adds the next bytes of the file. */
  update(bytes: Uint8Array): void {
    this.#total += bytes.length;
    const all = this.#tailLength + bytes.length;
    if (all <= 8) {
      this.#tail.set(bytes, this.#tailLength);
      this.#tailLength = all;
      return;
    }
    // Everything but the newest 8 bytes goes into the CRC.
    const release = all - 8;
    const fromTail = Math.min(release, this.#tailLength);
    if (fromTail > 0) {
      this.#crc.update(this.#tail.subarray(0, fromTail));
      this.#lastCovered = this.#tail[fromTail - 1];
    }
    const fromBytes = release - fromTail;
    if (fromBytes > 0) {
      this.#crc.update(bytes.subarray(0, fromBytes));
      this.#lastCovered = bytes[fromBytes - 1];
    }
    const keptOld = this.#tail.slice(fromTail, this.#tailLength);
    const next = new Uint8Array(8);
    next.set(keptOld);
    next.set(bytes.subarray(fromBytes), keptOld.length);
    this.#tail = next;
    this.#tailLength = 8;
  }

  /** Bytes seen. */
  get bytes(): number {
    return this.#total;
  }

  /** null for a complete RDB, else why not. */
  problem(): string | null {
    if (this.#total < 9 + 9) return `only ${this.#total} bytes: not a complete RDB`;
    if (this.#lastCovered !== 0xff) {
      return "no EOF opcode before the checksum: the RDB is truncated";
    }
    const stored = new DataView(this.#tail.buffer).getBigUint64(0, true);
    if (stored === 0n) return null; // rdbchecksum no
    const computed = this.#crc.value();
    return stored === computed
      ? null
      : `RDB checksum mismatch: stored ${stored.toString(16)}, computed ${computed.toString(16)}`;
  }
}
