/**
 * A MySQL/MariaDB SQL dump (ours, or mysqldump's), walked line by line:
 * whole when it ends with `-- Dump completed`, and every `INSERT INTO
 * ... VALUES (...),(...);` line's rows counted and digested - each row's
 * `(...)` tuple, byte for byte, which is what our dump's manifest digested.
 * Tuples are found by scanning outside quoted strings (backslash escapes, as
 * both writers use). A dump of every database names its tables with the
 * database its last `USE` line chose.
 *
 * @module
 */
import type { ManifestObject } from "../../manifest/backup_manifest.ts";
import { RowDigest } from "../../manifest/row_digest.ts";
import type { FormatCheck } from "../shared/format_check.ts";
import { LineSplitter } from "../shared/line_splitter.ts";
import { mysqlSqlCheck } from "../shared/sql_dump_check.ts";

const INSERT = new TextEncoder().encode("INSERT INTO ");
/** Both writers announce every table's data, also an empty table's. */
const DUMPING = "-- Dumping data for table ";
const BACKQUOTE = 0x60;
const QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x28;
const CLOSE = 0x29;

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The end (exclusive) of the backquoted identifier starting at `at`. */
function identifierEnd(line: Uint8Array, at: number): number {
  if (line[at] !== BACKQUOTE) return -1;
  for (let i = at + 1; i < line.length; i++) {
    if (line[i] !== BACKQUOTE) continue;
    if (line[i + 1] === BACKQUOTE) i++;
    else return i + 1;
  }
  return -1;
}

/** The check. */
export class MysqlSqlCheck implements FormatCheck {
  readonly format = "MySQL/MariaDB SQL dump";
  readonly #ending = mysqlSqlCheck();
  readonly #lines = new LineSplitter((line) => this.#line(line));
  readonly #digests = new Map<string, RowDigest>();
  readonly #problems: string[] = [];
  #database: string | null = null;
  readonly #digestRows: boolean;

  /** `digestRows`: digest each row (the manifest level); else only count them. */
  constructor(digestRows = true) {
    this.#digestRows = digestRows;
  }
  /** An INSERT whose rows go on on the next line. */
  #insert: { name: string; digest: RowDigest } | null = null;

  update(chunk: Uint8Array): void {
    this.#ending.update(chunk);
    this.#lines.push(chunk);
  }

  /** The table's manifest name (with the database a USE line chose) and its digest. */
  #table(table: string): { name: string; digest: RowDigest } {
    const name = this.#database === null ? table : `${this.#database}/${table}`;
    let digest = this.#digests.get(name);
    if (!digest) this.#digests.set(name, digest = new RowDigest());
    return { name, digest };
  }

  #line(line: Uint8Array): void {
    if (this.#insert) return this.#tuples(line, 0, this.#insert.name, this.#insert.digest);
    if (line[0] === 0x2d /* - */) {
      const text = new TextDecoder().decode(line.subarray(0, 512));
      if (text.startsWith(DUMPING)) {
        const table = /^`(?:[^`]|``)+`/.exec(text.slice(DUMPING.length))?.[0];
        if (table) this.#table(table);
      }
      return;
    }
    if (line[0] === 0x55 /* U */) {
      const use = /^USE (`(?:[^`]|``)+`);\n$/.exec(new TextDecoder().decode(line));
      if (use) this.#database = use[1];
      return;
    }
    if (!startsWith(line, INSERT)) return;
    const nameEnd = identifierEnd(line, INSERT.length);
    if (nameEnd < 0) return void this.#problems.push("an INSERT whose table name does not parse");
    const table = new TextDecoder().decode(line.subarray(INSERT.length, nameEnd));
    const { name, digest } = this.#table(table);
    let at = nameEnd;
    // An optional column list: (`a`,`b`) - parentheses may hide in names.
    if (line[at] === 0x20 && line[at + 1] === OPEN) {
      at += 2;
      while (at < line.length && line[at] !== CLOSE) {
        at = line[at] === BACKQUOTE ? identifierEnd(line, at) : at + 1;
        if (at < 0) return void this.#problems.push(`${name}: a column list that does not parse`);
      }
      at++;
    }
    const values = " VALUES";
    if (new TextDecoder().decode(line.subarray(at, at + values.length)) !== values) {
      return void this.#problems.push(`${name}: an INSERT without VALUES`);
    }
    at += values.length;
    // mariadb-dump 10.11 puts each row on its own line after "VALUES\n".
    if (line[at] === 0x20) at++;
    this.#tuples(line, at, name, digest);
  }

  /** Rows from `at` on; a statement not ended on this line goes on on the next. */
  #tuples(line: Uint8Array, at: number, name: string, digest: RowDigest): void {
    this.#insert = { name, digest };
    while (at < line.length) {
      const b = line[at];
      if (b === 0x0a || b === 0x0d) return; // the statement goes on on the next line
      if (b === 0x3b) {
        this.#insert = null;
        return;
      }
      if (b === 0x2c || b === 0x20) {
        at++;
        continue;
      }
      if (b !== OPEN) {
        this.#insert = null;
        return void this.#problems.push(`${name}: unexpected text between rows`);
      }
      const start = at;
      let quote = 0;
      for (at++; at < line.length; at++) {
        const c = line[at];
        if (quote) {
          if (c === BACKSLASH) at++;
          else if (c === quote) quote = 0;
        } else if (c === QUOTE || c === DOUBLE_QUOTE) {
          quote = c;
        } else if (c === CLOSE) {
          break;
        }
      }
      if (at >= line.length) {
        this.#insert = null;
        return void this.#problems.push(`${name}: a row that does not end`);
      }
      if (this.#digestRows) digest.add(line.subarray(start, at + 1));
      else digest.count();
      at++;
    }
  }

  finish(): string[] {
    const problems = [...this.#problems, ...this.#ending.finish()];
    if (this.#insert) problems.push(`the dump ends inside the rows of ${this.#insert.name}`);
    return problems;
  }

  objects(): ManifestObject[] {
    return [...this.#digests].map(([name, d]) => ({ name, rows: d.rows, digest: d.hex() }));
  }
}
