/**
 * The two formats PostgreSQL dumps come in and how each starts: our plain
 * SQL dump (and pg_dump's plain format), and pg_dump's custom archive.
 *
 * @module
 */
import { describeBytes, type DumpFormat } from "../shared/engine.ts";

/** A dump's first line is `-- PostgreSQL database dump` (after an optional blank "--" line). */
export const POSTGRES_FORMAT: DumpFormat = {
  description: "PostgreSQL SQL dump",
  headerBytes: 32,
  checkHeader(head) {
    const text = new TextDecoder().decode(head);
    return /^(--\n)?-- PostgreSQL database dump/.test(text)
      ? null
      : `expected "-- PostgreSQL database dump", got ${describeBytes(head.subarray(0, 28))}`;
  },
};

/** pg_dump's custom format starts with "PGDMP". */
export const PG_CUSTOM_FORMAT: DumpFormat = {
  description: "pg_dump custom archive",
  headerBytes: 5,
  checkHeader(head) {
    const start = head.subarray(0, 5);
    return new TextDecoder().decode(start) === "PGDMP"
      ? null
      : `expected "PGDMP", got ${describeBytes(start)}`;
  },
};
