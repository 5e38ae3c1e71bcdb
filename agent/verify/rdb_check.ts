/**
 * An RDB snapshot is whole when it starts with `REDIS` and four digits and
 * ends with the EOF opcode and the CRC-64/Jones of everything before it
 * (engines.md section 1).
 *
 * @module
 */
import { concatBytes } from "../../decrypt/concat_bytes.ts";
import { RDB_FORMAT, RdbTrailer } from "../engines/rdb_format.ts";
import type { FormatCheck } from "./format_check.ts";

/** The RDB check. */
export class RdbCheck implements FormatCheck {
  readonly format = "Redis RDB snapshot";
  readonly #trailer = new RdbTrailer();
  #head = new Uint8Array(0);

  update(chunk: Uint8Array): void {
    if (this.#head.length < RDB_FORMAT.headerBytes) {
      this.#head = concatBytes([this.#head, chunk]).slice(0, RDB_FORMAT.headerBytes);
    }
    this.#trailer.update(chunk);
  }

  finish(): string[] {
    const problems: string[] = [];
    const header = RDB_FORMAT.checkHeader(this.#head);
    if (header !== null) problems.push(header);
    const trailer = this.#trailer.problem();
    if (trailer !== null) problems.push(trailer);
    return problems;
  }
}
