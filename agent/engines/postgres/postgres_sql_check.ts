/**
 * Our PostgreSQL SQL dump, walked line by line: whole when it ends with
 * `-- PostgreSQL database dump complete`, and every `COPY ... FROM stdin`
 * block's rows counted and digested (each data line, newline included, is
 * one row - the same bytes the dump's manifest digested), up to its `\.`.
 * A whole-server dump's tables are named with the database its last
 * `\connect` line chose.
 *
 * @module
 */
import { RowDigest } from "../../manifest/row_digest.ts";
import type { ManifestObject } from "../../manifest/backup_manifest.ts";
import type { FormatCheck } from "../shared/format_check.ts";
import { SqlDumpCheck } from "../shared/sql_dump_check.ts";
import { LineSplitter } from "../shared/line_splitter.ts";

const COPY_LINE = /^COPY (.+) \([^)]*\) FROM stdin;$/;
const END_OF_COPY = "\\.";

/**
 * A qualified name as our dumps write it, every part quoted: pg_dump
 * quotes only the parts that need it (`public.items`), we always do
 * (`"public"."items"`), and the two must compare equal.
 */
export function quotedName(name: string): string {
  const parts: string[] = [];
  const part = /"((?:[^"]|"")*)"|([^".]+)/y;
  for (let at = 0; at < name.length;) {
    part.lastIndex = at;
    const match = part.exec(name);
    if (!match) return name; // not a name this knows how to read: left as written
    parts.push(match[1] !== undefined ? match[1].replaceAll('""', '"') : match[2]);
    at = part.lastIndex;
    if (at < name.length) {
      if (name[at] !== ".") return name;
      at++;
    }
  }
  return parts.map((p) => `"${p.replaceAll('"', '""')}"`).join(".");
}

/** The database name a `\connect -reuse-previous=on "dbname='...'"` line selects. */
export function connectedDatabase(line: string): string | null {
  const match = /^\\connect -reuse-previous=on "(.*)"$/.exec(line);
  if (!match) return null;
  const conninfo = match[1].replaceAll('""', '"');
  const value = /^dbname='((?:[^'\\]|\\.)*)'$/.exec(conninfo)?.[1];
  return value === undefined ? null : value.replace(/\\(.)/g, "$1");
}

/** The check. */
export class PostgresSqlCheck implements FormatCheck {
  readonly format = "PostgreSQL SQL dump";
  readonly #ending = new SqlDumpCheck(
    this.format,
    // pg_dump's own plain output ends with one more blank line than ours and,
    // since 17.6/16.10/15.14, with the `\unrestrict` that closes its `\restrict`.
    /-- PostgreSQL database dump complete\n--\n\n?(\\unrestrict [A-Za-z0-9]+\n\n?)?$/,
    "-- PostgreSQL database dump complete",
  );
  #database: string | null = null;
  #copying: { name: string; digest: RowDigest } | null = null;
  readonly #objects: ManifestObject[] = [];
  readonly #digests = new Map<string, RowDigest>();
  readonly #digestRows: boolean;

  /** `digestRows`: digest each row (the manifest level); else only count them. */
  constructor(digestRows = true) {
    this.#digestRows = digestRows;
  }

  readonly #lines = new LineSplitter((line) => this.#line(line));

  update(chunk: Uint8Array): void {
    this.#ending.update(chunk);
    this.#lines.push(chunk);
  }

  #line(bytes: Uint8Array): void {
    if (this.#copying) {
      if (bytes.length === 3 && bytes[0] === 0x5c && bytes[1] === 0x2e) {
        this.#copying = null; // "\.\n"
        return;
      }
      if (this.#digestRows) this.#copying.digest.add(bytes);
      else this.#copying.digest.count();
      return;
    }
    // Statements are short next to the data; decoding them is cheap.
    if (bytes[0] !== 0x43 && bytes[0] !== 0x5c) return; // neither "C..." nor "\..."
    const text = new TextDecoder().decode(bytes.subarray(0, bytes.length - 1));
    if (text === END_OF_COPY) return;
    const database = connectedDatabase(text);
    if (database !== null) {
      this.#database = database;
      return;
    }
    const copy = COPY_LINE.exec(text);
    if (copy) {
      const table = quotedName(copy[1]);
      const name = this.#database === null ? table : `${this.#database}/${table}`;
      const digest = new RowDigest();
      this.#digests.set(name, digest);
      this.#copying = { name, digest };
    }
  }

  finish(): string[] {
    const problems = this.#ending.finish();
    if (this.#copying) problems.push(`the dump ends inside the data of ${this.#copying.name}`);
    for (const [name, digest] of this.#digests) {
      this.#objects.push({ name, rows: digest.rows, digest: digest.hex() });
    }
    return problems;
  }

  objects(): ManifestObject[] {
    return this.#objects;
  }
}
