/**
 * What a `mongodump --archive` stream starts with, and its terminator
 * (docs/engines.md section 2): kept apart from the encoder so the header check
 * needs no BSON library.
 *
 * @module
 */
import { describeBytes, type DumpFormat } from "../shared/engine.ts";

/** uint32 0x8199e26d, little-endian. */
export const ARCHIVE_MAGIC: Uint8Array = new Uint8Array([0x6d, 0xe2, 0x99, 0x81]);
/** Ends the prelude and every block. */
export const TERMINATOR: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff]);

/** The header check for mongodump archives. */
export const MONGO_ARCHIVE_FORMAT: DumpFormat = {
  description: "mongodump archive",
  headerBytes: 4,
  checkHeader(head) {
    const start = head.subarray(0, 4);
    return start.length === 4 && start.every((b, i) => b === ARCHIVE_MAGIC[i])
      ? null
      : `expected 6d e2 99 81, got ${describeBytes(start)}`;
  },
};
