/**
 * How a SQLite database file starts.
 *
 * @module
 */
import { describeBytes, type DumpFormat } from "../shared/engine.ts";

/** The first 16 bytes of every SQLite database file. */
export const SQLITE_MAGIC: Uint8Array = new TextEncoder().encode("SQLite format 3\0");

/** The header check for SQLite database files. */
export const SQLITE_FORMAT: DumpFormat = {
  description: "SQLite database file",
  headerBytes: SQLITE_MAGIC.length,
  checkHeader(head) {
    const start = head.subarray(0, SQLITE_MAGIC.length);
    return start.length === SQLITE_MAGIC.length && start.every((b, i) => b === SQLITE_MAGIC[i])
      ? null
      : `expected "SQLite format 3\\0", got ${describeBytes(start)}`;
  },
};
