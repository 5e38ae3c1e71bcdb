/**
 * Large objects in a plain-SQL dump: each one created with its own OID
 * (`lo_create`) and filled piece by piece with `lo_put`, read with
 * `lo_get` inside the dump's snapshot. Objects are listed in batches and
 * read in 256 KiB pieces, so neither their number nor their size is held
 * in memory.
 *
 * @module
 */
import type { ReservedSql } from "postgres";
import type { ByteBuilder } from "../../bytes/byte_builder.ts";

/** Bytes read per `lo_get`; written as one `lo_put` of twice as many hex digits. */
const PIECE = 256 * 1024;
/** OIDs listed per catalog query. */
const BATCH = 1000;

/**
 * Appends every large object's statements to `out`, yielding whenever it
 * holds `chunkBytes`. Resolves to the number of objects.
 */
export async function* writeLargeObjects(
  sql: ReservedSql,
  out: ByteBuilder,
  chunkBytes: number,
): AsyncGenerator<Uint8Array, number> {
  let count = 0;
  let after = "0";
  for (;;) {
    // Ordered by the OID itself: a bare `ORDER BY oid` would sort by the text
    // alias, and paging on the last row would then list objects twice.
    const rows = await sql`SELECT m.oid::text AS oid FROM pg_catalog.pg_largeobject_metadata m
      WHERE m.oid > ${after}::oid ORDER BY m.oid LIMIT ${BATCH}`;
    if (rows.length === 0) return count;
    for (const { oid } of rows) {
      out.text(`SELECT pg_catalog.lo_create(${oid});\n`);
      for (let offset = 0;; offset += PIECE) {
        const [{ data }] =
          await sql`SELECT pg_catalog.lo_get(${oid}::oid, ${offset}::bigint, ${PIECE}::int) AS data`;
        const bytes = data as Uint8Array;
        if (bytes.length === 0) break;
        out.text(
          `SELECT pg_catalog.lo_put(${oid}, ${offset}, '\\x${
            Uint8Array.prototype.toHex.call(bytes)
          }'::bytea);\n`,
        );
        if (out.length >= chunkBytes) yield out.take();
        if (bytes.length < PIECE) break;
      }
      count++;
    }
    after = String(rows.at(-1)!.oid);
  }
}
