/**
 * SQL dumps are whole when they end with the line their writer always
 * writes last: `-- Dump completed` (ours and mysqldump's), `-- PostgreSQL
 * database dump complete` (ours and pg_dump's, checked inside
 * postgres_sql_check.ts). A dump cut short anywhere lacks it.
 *
 * @module
 */
import type { FormatCheck } from "./format_check.ts";

/** The completion line check for one SQL dialect. */
export class SqlDumpCheck implements FormatCheck {
  readonly format: string;
  readonly #ending: RegExp;
  readonly #endingName: string;
  #tail = "";
  #bytes = 0;

  /** `ending` must match the end of a complete dump. */
  constructor(format: string, ending: RegExp, endingName: string) {
    this.format = format;
    this.#ending = ending;
    this.#endingName = endingName;
  }

  update(chunk: Uint8Array): void {
    this.#bytes += chunk.length;
    this.#tail =
      (this.#tail + new TextDecoder().decode(chunk.subarray(Math.max(0, chunk.length - 256))))
        .slice(-256);
  }

  finish(): string[] {
    if (this.#ending.test(this.#tail)) return [];
    return [
      `the dump (${this.#bytes} bytes) does not end with "${this.#endingName}": it was cut short`,
    ];
  }
}

/** Our MySQL/MariaDB dump, and mysqldump's / mariadb-dump's. */
export function mysqlSqlCheck(): SqlDumpCheck {
  return new SqlDumpCheck(
    "MySQL/MariaDB SQL dump",
    /-- Dump completed( on [^\n]*)?\s*$/,
    "-- Dump completed",
  );
}
