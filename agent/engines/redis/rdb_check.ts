/**
 * An RDB snapshot is whole when it starts with `REDIS` and four digits and
 * ends with the EOF opcode and the CRC-64/Jones of everything before it
 * (docs/engines.md section 1), and when its entries - every opcode and value,
 * walked by rdb_keys.ts - end with that EOF opcode right before the
 * checksum. The walk also gives each database's key count and digest (the
 * manifest), and the replication position the snapshot records. A value
 * type the walk does not know (a newer Redis's) stops it without failing
 * the check: header and checksum still vouch for the file.
 *
 * @module
 */
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import { RDB_FORMAT, RdbTrailer } from "./rdb_format.ts";
import type { ManifestObject } from "../../manifest/backup_manifest.ts";
import type { FormatCheck } from "../shared/format_check.ts";
import { RdbKeys } from "./rdb_keys.ts";

/** The RDB check. */
export class RdbCheck implements FormatCheck {
  /** The format's name in reports. */
  static readonly FORMAT = RDB_FORMAT.description;
  readonly format = RdbCheck.FORMAT;
  readonly #trailer = new RdbTrailer();
  #head = new Uint8Array(0);
  readonly #keys = new RdbKeys();
  #bytes = 0;

  update(chunk: Uint8Array): void {
    if (this.#head.length < RDB_FORMAT.headerBytes) {
      this.#head = concatBytes([this.#head, chunk]).slice(0, RDB_FORMAT.headerBytes);
    }
    this.#bytes += chunk.length;
    this.#trailer.update(chunk);
    this.#keys.update(chunk);
  }

  /**
   * Each database's keys, when every entry could be walked (a type the walk
   * does not know leaves none: no digest rather than a wrong one).
   */
  objects(): ManifestObject[] {
    if (this.#keys.problem() !== null) return [];
    return [...this.#keys.databases.values()]
      .sort((a, b) => Number(a.name.slice(2)) - Number(b.name.slice(2)))
      .map((db) => ({ name: db.name, rows: db.keys.rows, digest: db.keys.hex() }));
  }

  /** The replication id and offset the snapshot was made at, when it records them. */
  snapshot(): Record<string, string> | undefined {
    const id = this.#keys.aux.get("repl-id");
    const offset = this.#keys.aux.get("repl-offset");
    return id && offset ? { repl_id: id, repl_offset: offset } : undefined;
  }

  finish(): string[] {
    const problems: string[] = [];
    const header = RDB_FORMAT.checkHeader(this.#head);
    if (header !== null) problems.push(header);
    const trailer = this.#trailer.problem();
    if (trailer !== null) problems.push(trailer);
    const walk = this.#keys.problem();
    if (walk !== null && !this.#keys.stoppedAtUnknownType && header === null) {
      problems.push(`its entries do not read to their end: ${walk}`);
    } else if (walk === null && this.#keys.endOffset !== this.#bytes - 8) {
      problems.push(
        `its entries end at byte ${this.#keys.endOffset}, but ${
          this.#bytes - this.#keys.endOffset
        } bytes follow instead of the 8 of the checksum`,
      );
    }
    return problems;
  }
}
