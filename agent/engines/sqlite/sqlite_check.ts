/**
 * A SQLite backup is whole when the file is exactly page size x page count
 * by its own header and `PRAGMA integrity_check` passes on a temporary copy
 * (removed afterwards; the check reads every page).
 *
 * @module
 */
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { sqliteFileSize } from "./sqlite_engine.ts";
import type { FormatCheck } from "../shared/format_check.ts";
import type { ManifestObject } from "../../manifest/backup_manifest.ts";
import { sqliteTableDigests, sqliteUserTables } from "./sqlite_table_digests.ts";

/** The SQLite check; needs a directory for the temporary copy. */
export class SqliteCheck implements FormatCheck {
  readonly format = "SQLite database file";
  readonly #path: string;
  #file: Deno.FsFile | null = null;
  #header = new Uint8Array(0);
  #bytes = 0;
  #tables: ManifestObject[] = [];

  readonly #digestRows: boolean;

  /** The copy goes into `tempDir`; `digestRows` reads every table for the manifest level. */
  constructor(tempDir: string, digestRows = true) {
    this.#path = join(tempDir, `verify-${crypto.randomUUID()}.db`);
    this.#digestRows = digestRows;
  }

  update(chunk: Uint8Array): void {
    this.#file ??= Deno.openSync(this.#path, { write: true, createNew: true, mode: 0o600 });
    if (this.#header.length < 100) {
      this.#header = concatBytes([this.#header, chunk]).slice(0, 100);
    }
    this.#bytes += chunk.length;
    let written = 0;
    while (written < chunk.length) written += this.#file.writeSync(chunk.subarray(written));
  }

  finish(): string[] {
    this.#file?.close();
    try {
      const expected = this.#header.length === 100 ? sqliteFileSize(this.#header) : -1;
      if (expected !== this.#bytes) {
        return [`the file is ${this.#bytes} bytes, its header says ${expected}: it was cut short`];
      }
      const db = new DatabaseSync(this.#path, { readOnly: true });
      try {
        const rows = db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
        const problems = rows.map((r) => r.integrity_check).filter((r) => r !== "ok");
        if (problems.length) return problems.map((p) => `integrity_check: ${p}`);
        this.#tables = this.#digestRows ? sqliteTableDigests(db) : tableCounts(db);
        return [];
      } finally {
        db.close();
      }
    } catch (error) {
      return [`the file does not open as SQLite: ${(error as Error).message}`];
    } finally {
      // A WAL-mode copy gets -wal and -shm files once opened.
      for (const suffix of ["", "-wal", "-shm"]) {
        try {
          Deno.removeSync(this.#path + suffix);
        } catch {
          // never created
        }
      }
    }
  }

  objects(): ManifestObject[] {
    return this.#tables;
  }
}

/** Every user table with its row count (no digests: the structure level). */
function tableCounts(db: DatabaseSync): ManifestObject[] {
  return sqliteUserTables(db).map((name) => {
    const row = db.prepare(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`).get() as {
      n: number;
    };
    return { name, rows: Number(row.n) };
  });
}
