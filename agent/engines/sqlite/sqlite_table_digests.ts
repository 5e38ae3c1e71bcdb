/**
 * Row counts and digests of every table of a SQLite database (restore
 * verification), read in rowid order through SQLite itself. A row's
 * canonical bytes are, per column in table order, a type tag (null,
 * integer, real, text, blob), a length and the value (integers exact, as
 * decimal; reals as the shortest text that reads back the same), so the
 * same rows give the same digest in any file that holds them.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { ByteBuilder } from "../../bytes/byte_builder.ts";
import type { ManifestObject } from "../../manifest/backup_manifest.ts";
import { RowDigest } from "../../manifest/row_digest.ts";

const encoder = new TextEncoder();

function field(out: ByteBuilder, tag: number, bytes: Uint8Array): void {
  out.byte(tag);
  out.byte(bytes.length >>> 24);
  out.byte((bytes.length >>> 16) & 0xff);
  out.byte((bytes.length >>> 8) & 0xff);
  out.byte(bytes.length & 0xff);
  out.bytes(bytes);
}

/** The canonical bytes of one row. */
export function canonicalSqliteRow(
  row: Record<string, unknown>,
  out = new ByteBuilder(256),
): Uint8Array {
  for (const value of Object.values(row)) {
    if (value === null || value === undefined) field(out, 0, new Uint8Array(0));
    else if (typeof value === "bigint") field(out, 1, encoder.encode(value.toString()));
    else if (typeof value === "number") field(out, 2, encoder.encode(String(value)));
    else if (typeof value === "string") field(out, 3, encoder.encode(value));
    else if (value instanceof Uint8Array) field(out, 4, value);
    else throw new Error(`unexpected SQLite value of type ${typeof value}`);
  }
  return out.take();
}

/** The user tables of `db` (not SQLite's own), by name. */
export function sqliteUserTables(db: DatabaseSync): string[] {
  return (db.prepare(
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  ).all() as { name: string }[]).map((row) => row.name);
}

/** Every user table of `db` with its row count and digest, by name. */
export function sqliteTableDigests(db: DatabaseSync): ManifestObject[] {
  const out = new ByteBuilder(4096);
  return sqliteUserTables(db).map((name) => {
    const statement = db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`);
    statement.setReadBigInts(true);
    const digest = new RowDigest();
    for (const row of statement.iterate()) {
      digest.add(canonicalSqliteRow(row as Record<string, unknown>, out));
    }
    return { name, rows: digest.rows, digest: digest.hex() };
  });
}
