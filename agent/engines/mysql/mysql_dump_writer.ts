/**
 * The SQL text of a MySQL/MariaDB dump (docs/agent.md section 5), read inside one
 * consistent snapshot: session settings saved and restored around the
 * body, tables from SHOW CREATE TABLE, rows streamed as multi-row INSERTs
 * with explicit column lists (generated columns left out), triggers after
 * their table's data, routines and events with DELIMITER, views last over
 * placeholders so views on views always restore. A single-database dump
 * names no database, so it restores under any name.
 *
 * @module
 */
import type { Connection as PromiseConnection, RowDataPacket } from "mysql2/promise";
import { VERSION } from "../../../decrypt/version.ts";
import type { BufferPool } from "../../bytes/buffer_pool.ts";
import { ByteBuilder } from "../../bytes/byte_builder.ts";
import { RowDigest } from "../../manifest/row_digest.ts";
import { checkAllDumped } from "../shared/catalog_check.ts";
import { DumpError } from "../shared/engine.ts";
import { type PausableStream, pausedStreamPieces } from "../shared/paused_stream_pieces.ts";
import { appendLiteral, type LiteralKind, literalKind, quoteName } from "./sql_literal.ts";

/** What the writer needs to know. */
export interface DumpWriterOptions {
  /** "MariaDB" or "MySQL": the header line names it. */
  flavor: "MariaDB" | "MySQL";
  /** The server's own version string. */
  serverVersion: string;
  /** The database to dump, or null for every non-system database (with CREATE DATABASE/USE). */
  database: string | null;
  /** Told about things the user should know (non-transactional tables). */
  warn: (message: string) => void;
  /** Largest INSERT statement; well below the default max_allowed_packet. */
  maxStatementBytes?: number;
  /**
   * Leave `DEFINER=user@host` out of views, routines, triggers and events,
   * for restoring on a server where that account does not exist (the
   * restoring user becomes the definer). Default: kept as the server reports it.
   */
  omitDefiner?: boolean;
  /** Yield output in pieces of about this size. */
  chunkBytes?: number;
  /** Buffers to build the pieces in, reused once taken back (DumpStream.recycle). */
  pieces?: BufferPool;
  /**
   * Per table, the rows' digest for the manifest: each row's `(...)` tuple
   * as written. Named `` `table` ``, or `` `db`/`table` `` in a dump of
   * every database (as its USE lines say).
   */
  digests?: Map<string, RowDigest>;
}

/**
 * Room for a piece (256 KiB by default) and the batch of rows that
 * completes it, for the buffers pieces are built in.
 */
export const PIECE_BUFFER_BYTES = 512 * 1024;

/** Databases that belong to the server, never dumped. */
export const SYSTEM_DATABASES = ["information_schema", "performance_schema", "mysql", "sys"];

/** Engines whose rows a snapshot covers; others get a warning. */
const TRANSACTIONAL = new Set(["innodb", "xtradb", "rocksdb", "tokudb"]);

interface TableInfo {
  name: string;
  type: "BASE TABLE" | "VIEW" | "SEQUENCE" | "SYSTEM VERSIONED" | string;
  engine: string | null;
}

interface ColumnInfo {
  name: string;
  kind: LiteralKind;
  generated: boolean;
}

type Row = RowDataPacket & Record<string, unknown>;

async function rows(conn: PromiseConnection, sql: string, params: unknown[] = []): Promise<Row[]> {
  const [result] = await conn.query<Row[]>(sql, params);
  return result;
}

/** The one column of a SHOW CREATE result; a null means the user may not read it. */
function definition(row: Row | undefined, column: string, what: string): string {
  const value = row?.[column];
  if (typeof value !== "string" || value === "") {
    throw new DumpError(
      `cannot read the definition of ${what}: the user lacks the privilege to see it`,
    );
  }
  return value;
}

function utcStamp(): string {
  return new Date().toISOString().replace("T", " ").slice(0, 19);
}

/** What every phase of the writer shares: the output, the options and their derived limits. */
interface Writer {
  conn: PromiseConnection;
  out: ByteBuilder;
  options: DumpWriterOptions;
  chunkBytes: number;
  maxStatement: number;
  /** The statement as the server reports it, without DEFINER when asked to. */
  definer(statement: string): string;
}

/** Yields what the writer holds once it is a chunk's worth. */
function* flush(w: Writer): Generator<Uint8Array> {
  if (w.out.length >= w.chunkBytes) yield w.out.take();
}

/**
 * Generates the dump, in pieces: the header, each database (its tables
 * with their rows and triggers, then its routines, events and views), the
 * footer. `conn` must already be inside the consistent-snapshot
 * transaction, with `SET NAMES utf8mb4` and the session time zone at UTC.
 */
export async function* writeMysqlDump(
  conn: PromiseConnection,
  options: DumpWriterOptions,
): AsyncGenerator<Uint8Array> {
  const w: Writer = {
    conn,
    out: options.pieces ? new ByteBuilder(0, options.pieces) : new ByteBuilder(),
    options,
    chunkBytes: options.chunkBytes ?? 256 * 1024,
    maxStatement: options.maxStatementBytes ?? 1024 * 1024,
    definer: (statement) =>
      options.omitDefiner
        ? statement.replace(/ DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*`/, "")
        : statement,
  };
  w.out.text(header(options));
  for (const database of await databasesToDump(w)) yield* writeDatabase(w, database);
  w.out.text(FOOTER + `-- Dump completed on ${utcStamp()} UTC\n`);
  yield w.out.take();
}

/** The header: what was dumped, and the session settings saved and set for the body. */
function header(options: DumpWriterOptions): string {
  return `-- ${options.flavor} dump (backupy-agent ${VERSION})\n--\n` +
    `-- Database: ${options.database ?? "(all databases)"}\n` +
    `-- Server version: ${options.serverVersion}\n` +
    `-- Read in one REPEATABLE READ transaction WITH CONSISTENT SNAPSHOT\n` +
    `-- ------------------------------------------------------\n\n` +
    `/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n` +
    `/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;\n` +
    `/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;\n` +
    `/*!40101 SET NAMES utf8mb4 */;\n` +
    `/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;\n` +
    `/*!40103 SET TIME_ZONE='+00:00' */;\n` +
    `/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n` +
    `/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;\n` +
    `/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n` +
    `/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n\n`;
}

/** The footer: every session setting the header changed, put back. */
const FOOTER = `/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n` +
  `/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n` +
  `/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;\n` +
  `/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;\n` +
  `/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n` +
  `/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;\n` +
  `/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;\n` +
  `/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n\n`;

/** The database named, or every non-system one, sorted. */
async function databasesToDump(w: Writer): Promise<string[]> {
  if (w.options.database !== null) return [w.options.database];
  return (await rows(w.conn, "SHOW DATABASES"))
    .map((row) => String(Object.values(row)[0]))
    .filter((name) => !SYSTEM_DATABASES.includes(name.toLowerCase()))
    .sort();
}

/**
 * One database: CREATE DATABASE and USE in a dump of every database, each
 * table with its rows and triggers (every table the catalog lists, or the
 * dump fails), then placeholders for the views, routines, events and the views.
 */
async function* writeDatabase(w: Writer, database: string): AsyncGenerator<Uint8Array> {
  const { conn, out } = w;
  const db = quoteName(database);
  // SHOW CREATE qualifies names outside the default database: with it set,
  // views, foreign keys and routines name only their own database implicitly,
  // so the dump restores under any database name.
  await conn.query(`USE ${db}`);
  if (w.options.database === null) {
    const create = definition(
      (await rows(conn, `SHOW CREATE DATABASE ${db}`))[0],
      "Create Database",
      `database ${database}`,
    );
    out.text(
      `--\n-- Database ${db}\n--\n\n${
        create.replace(/^CREATE DATABASE /, "CREATE DATABASE /*!32312 IF NOT EXISTS*/ ")
      };\n\nUSE ${db};\n\n`,
    );
  }
  const tables = (await rows(
    conn,
    "SELECT TABLE_NAME AS name, TABLE_TYPE AS type, ENGINE AS engine FROM information_schema.TABLES " +
      "WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
    [database],
  )) as unknown as TableInfo[];
  const views = tables.filter((t) => t.type === "VIEW");
  // Asked separately from the list above: what the data section must cover.
  const catalog = (await rows(
    conn,
    `SHOW FULL TABLES FROM ${db} WHERE Table_type IN ('BASE TABLE', 'SEQUENCE')`,
  )).map((row) => String(Object.values(row)[0]));
  const dumped = new Set<string>();
  // Before the tables: a column's default may call one.
  for (const sequence of tables.filter((t) => t.type === "SEQUENCE")) {
    await writeSequence(w, database, sequence.name);
    dumped.add(sequence.name);
  }
  const triggers = await triggersByTable(w, database);
  for (const table of tables.filter((t) => t.type !== "VIEW" && t.type !== "SEQUENCE")) {
    yield* writeTable(w, database, table);
    yield* writeTriggers(w, database, triggers.get(table.name) ?? []);
    dumped.add(table.name);
  }
  checkAllDumped(`database ${database}`, catalog, dumped);
  await writeViewPlaceholders(w, database, views);
  await writeRoutines(w, database);
  await writeEvents(w, database);
  await writeViews(w, database, views);
  yield* flush(w);
}

/**
 * A MariaDB sequence: its definition, then where it stands, as mariadb-dump
 * writes it. `SETVAL(s, next_not_cached_value, 0)` makes the restored
 * sequence go on after every value the source may have handed out, as a
 * restart of the source would (values cached but unused are skipped).
 */
async function writeSequence(w: Writer, database: string, sequence: string): Promise<void> {
  const name = quoteName(sequence);
  const qualified = `${quoteName(database)}.${name}`;
  const create = definition(
    (await rows(w.conn, `SHOW CREATE SEQUENCE ${qualified}`))[0],
    "Create Table",
    `sequence ${database}.${sequence}`,
  );
  // As text: the values are BIGINTs, beyond a JavaScript number's exact range.
  const [state] = await rows(
    w.conn,
    `SELECT CAST(next_not_cached_value AS CHAR) AS next FROM ${qualified}`,
  );
  w.out.text(
    `--\n-- Sequence structure for ${name}\n--\n\nDROP SEQUENCE IF EXISTS ${name};\n${create};\n` +
      `DO SETVAL(${name}, ${String(state.next)}, 0);\n\n`,
  );
}

/** A table's structure and its rows, as multi-row INSERTs that fit max_allowed_packet. */
async function* writeTable(
  w: Writer,
  database: string,
  table: TableInfo,
): AsyncGenerator<Uint8Array> {
  const { conn, out, options } = w;
  const db = quoteName(database);
  const name = quoteName(table.name);
  const what = `table ${database}.${table.name}`;
  if (table.engine && !TRANSACTIONAL.has(table.engine.toLowerCase())) {
    options.warn(
      `${what} uses ${table.engine}, which is not transactional: ` +
        "its rows are not guaranteed consistent with the rest of the dump",
    );
  }
  if (table.type === "SYSTEM VERSIONED") {
    options.warn(
      `${what} is system-versioned: the dump holds its current rows, ` +
        "not its history (as mariadb-dump without --dump-history)",
    );
  }
  const create = definition(
    (await rows(conn, `SHOW CREATE TABLE ${db}.${name}`))[0],
    "Create Table",
    what,
  );
  out.text(
    `--\n-- Table structure for table ${name}\n--\n\nDROP TABLE IF EXISTS ${name};\n${create};\n\n`,
  );

  const columns: ColumnInfo[] = (await rows(
    conn,
    "SELECT COLUMN_NAME AS name, DATA_TYPE AS type, EXTRA AS extra FROM information_schema.COLUMNS " +
      "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    [database, table.name],
  )).map((c) => ({
    name: String(c.name),
    kind: literalKind(String(c.type)),
    generated: /GENERATED|^VIRTUAL$|^PERSISTENT$|^STORED$/i.test(String(c.extra ?? "")),
  }));
  const stored = columns.filter((c) => !c.generated);
  const columnList = stored.map((c) => quoteName(c.name)).join(",");
  out.text(
    `--\n-- Dumping data for table ${name}\n--\n\n/*!40000 ALTER TABLE ${name} DISABLE KEYS */;\n`,
  );
  yield* flush(w);

  const head = `INSERT INTO ${name} (${columnList}) VALUES `;
  let digest: RowDigest | undefined;
  if (options.digests) {
    digest = new RowDigest();
    options.digests.set(options.database === null ? `${db}/${name}` : name, digest);
  }
  let statementBytes = 0;
  const core = (conn as unknown as { connection: CoreConnection }).connection;
  const query = core.query({
    sql: `SELECT ${columnList} FROM ${db}.${name}`,
    rowsAsArray: true,
    typeCast: (field: { buffer(): Uint8Array | null }) => field.buffer(),
  });
  const stream = query.stream({ highWaterMark: 256 }) as unknown as RowStream;
  for await (const batch of changedTableExplained(rowBatches(stream, core), what)) {
    for (const row of batch) {
      const before = out.length;
      if (statementBytes === 0) out.text(head);
      else out.byte(0x2c); // ,
      const tuple = out.length;
      out.byte(0x28); // (
      for (let i = 0; i < stored.length; i++) {
        if (i > 0) out.byte(0x2c);
        appendLiteral(out, row[i], stored[i].kind);
      }
      out.byte(0x29); // )
      digest?.add(out.view(tuple));
      statementBytes += out.length - before;
      if (statementBytes >= w.maxStatement) {
        out.text(";\n");
        statementBytes = 0;
      }
    }
    if (out.length >= w.chunkBytes) yield out.take();
  }
  if (statementBytes > 0) out.text(";\n");
  out.text(`/*!40000 ALTER TABLE ${name} ENABLE KEYS */;\n\n`);
}

/**
 * The database's trigger names per table, each table's in the order the
 * server lists them (their firing order). Listed once for the database: the
 * server reads every table of it for any listing, even one filtered to a
 * single table (4 ms per table at 2,000 tables).
 */
async function triggersByTable(w: Writer, database: string): Promise<Map<string, string[]>> {
  const byTable = new Map<string, string[]>();
  for (const trigger of await rows(w.conn, `SHOW TRIGGERS FROM ${quoteName(database)}`)) {
    const table = String(trigger.Table);
    const names = byTable.get(table);
    if (names) names.push(String(trigger.Trigger));
    else byTable.set(table, [String(trigger.Trigger)]);
  }
  return byTable;
}

/** ER_TABLE_DEF_CHANGED: the server's answer to a snapshot read of a table rebuilt since. */
const TABLE_DEF_CHANGED = 1412;

/**
 * `batches`, with the server's "Table definition has changed" made into what
 * happened and what to do: the table was created, truncated or rebuilt after
 * the snapshot began, so its rows as of the snapshot are gone. mariadb-dump
 * fails the same way; the next backup reads the table as it is then.
 */
async function* changedTableExplained<T>(
  batches: AsyncIterable<T>,
  what: string,
): AsyncGenerator<T> {
  try {
    yield* batches;
  } catch (error) {
    if ((error as { errno?: number }).errno !== TABLE_DEF_CHANGED) throw error;
    throw new DumpError(
      `${what} was created, truncated or rebuilt while the backup ran, after its snapshot began, ` +
        "so the rows of that moment cannot be read: run the backup again",
    );
  }
}

/** A table's triggers, after its data, each under the session it was created in. */
async function* writeTriggers(
  w: Writer,
  database: string,
  triggerNames: string[],
): AsyncGenerator<Uint8Array> {
  const db = quoteName(database);
  for (const triggerName of triggerNames) {
    const row = (await rows(w.conn, `SHOW CREATE TRIGGER ${db}.${quoteName(triggerName)}`))[0];
    const statement = w.definer(definition(
      row,
      "SQL Original Statement",
      `trigger ${database}.${triggerName}`,
    ));
    w.out.text(withSession(row, `DELIMITER ;;\n${statement} ;;\nDELIMITER ;\n`));
  }
  yield* flush(w);
}

/** Placeholders with the views' columns: later views may select from earlier ones. */
async function writeViewPlaceholders(w: Writer, database: string, views: TableInfo[]) {
  for (const view of views) {
    const columns = await rows(
      w.conn,
      "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
      [database, view.name],
    );
    const list = columns.map((c) => `1 AS ${quoteName(String(c.name))}`).join(", ") ||
      "1 AS `placeholder`";
    w.out.text(
      `--\n-- Placeholder for view ${quoteName(view.name)}\n--\n\nDROP TABLE IF EXISTS ${
        quoteName(view.name)
      };\n` +
        `DROP VIEW IF EXISTS ${quoteName(view.name)};\n/*!50001 CREATE VIEW ${
          quoteName(view.name)
        } AS SELECT ${list} */;\n\n`,
    );
  }
}

/** Procedures and functions, each under the session it was created in. */
async function writeRoutines(w: Writer, database: string) {
  const db = quoteName(database);
  for (const kind of ["PROCEDURE", "FUNCTION"] as const) {
    for (const routine of await rows(w.conn, `SHOW ${kind} STATUS WHERE Db = ?`, [database])) {
      const routineName = String(routine.Name);
      const row = (await rows(w.conn, `SHOW CREATE ${kind} ${db}.${quoteName(routineName)}`))[0];
      const column = kind === "PROCEDURE" ? "Create Procedure" : "Create Function";
      const statement = w.definer(definition(
        row,
        column,
        `${kind.toLowerCase()} ${database}.${routineName}`,
      ));
      w.out.text(
        `--\n-- ${kind.toLowerCase()} ${
          quoteName(routineName)
        }\n--\n\n/*!50003 DROP ${kind} IF EXISTS ${quoteName(routineName)} */;\n` +
          withSession(row, `DELIMITER ;;\n${statement} ;;\nDELIMITER ;\n`),
      );
    }
  }
}

/** Events, each under the session (and time zone) it was created in. */
async function writeEvents(w: Writer, database: string) {
  const db = quoteName(database);
  for (const event of await rows(w.conn, `SHOW EVENTS FROM ${db}`)) {
    const eventName = String(event.Name);
    const row = (await rows(w.conn, `SHOW CREATE EVENT ${db}.${quoteName(eventName)}`))[0];
    const statement = w.definer(definition(row, "Create Event", `event ${database}.${eventName}`));
    w.out.text(
      `--\n-- event ${quoteName(eventName)}\n--\n\n/*!50106 DROP EVENT IF EXISTS ${
        quoteName(eventName)
      } */;\n` +
        withSession(row, `DELIMITER ;;\n/*!50106 ${statement} */ ;;\nDELIMITER ;\n`),
    );
  }
}

/** The views themselves, over their placeholders. */
async function writeViews(w: Writer, database: string, views: TableInfo[]) {
  const db = quoteName(database);
  for (const view of views) {
    const row = (await rows(w.conn, `SHOW CREATE VIEW ${db}.${quoteName(view.name)}`))[0];
    const statement = w.definer(definition(row, "Create View", `view ${database}.${view.name}`));
    // A view keeps the character set and collation it was created under.
    w.out.text(
      `--\n-- View ${quoteName(view.name)}\n--\n\nDROP VIEW IF EXISTS ${quoteName(view.name)};\n` +
        withSession(row, `${statement};\n`),
    );
  }
}

/**
 * The session settings a stored object was created under, as SHOW CREATE
 * VIEW / TRIGGER / PROCEDURE / FUNCTION / EVENT report them, in the order they are
 * set: the server stores the object with them, and an event's schedule is
 * read in its `time_zone`. A restore that runs under its own settings
 * instead (the dump's header sets TIME_ZONE to +00:00) changes the object.
 */
const SESSION_SETTINGS = [
  ["character_set_client", "character_set_client"],
  // Results follow the client's set, as mariadb-dump writes them.
  ["character_set_results", "character_set_client"],
  ["collation_connection", "collation_connection"],
  ["sql_mode", "sql_mode"],
  ["time_zone", "time_zone"],
] as const;

/**
 * `body` wrapped in the object's own session settings (`row` is its SHOW
 * CREATE row), each saved before and put back after.
 */
function withSession(row: Record<string, unknown>, body: string): string {
  const settings = SESSION_SETTINGS.filter(([, column]) =>
    row[column] !== undefined && row[column] !== null
  );
  // Names of character sets, collations, modes and zones: no backslash to escape.
  const literal = (value: unknown) => `'${String(value).replaceAll("'", "''")}'`;
  const save = settings.map(([name]) => `/*!50003 SET @saved_${name} = @@${name} */;\n`);
  const set = settings.map(([name, column]) =>
    `/*!50003 SET ${name} = ${literal(row[column])} */;\n`
  );
  const restore = settings.map(([name]) => `/*!50003 SET ${name} = @saved_${name} */;\n`);
  return `${save.join("")}${set.join("")}${body}${restore.join("")}\n`;
}

/** A row as mysql2 streams it with `rowsAsArray` and the raw-bytes type cast. */
type RawRow = (Uint8Array | null)[];

/** The Node stream of rows mysql2 returns for a streaming query. */
type RowStream = PausableStream<RawRow> & { on(event: "close", listener: () => void): void };

/**
 * Rows in batches: one promise per batch instead of one per row (the
 * per-row async iteration cost more than formatting the row). The stream is
 * paused while a full batch waits, so memory stays bounded.
 */
async function* rowBatches(
  stream: RowStream,
  connection: CoreConnection,
  size = 512,
): AsyncGenerator<RawRow[]> {
  let batch: RawRow[] = [];
  // A lost connection (killed, server gone) may close the stream without an
  // error event, or report it only on the connection; either way the rows will
  // not come, and a paused dump must not wait for them forever.
  const watch = (lost: (error?: Error) => void) => {
    stream.on("close", () => lost());
    if (connection._fatalError) lost(connection._fatalError);
    connection.on("error", lost);
    connection.on("end", lost);
    return () => {
      connection.off("error", lost);
      connection.off("end", lost);
    };
  };
  const full = (row: RawRow) => batch.push(row) >= size;
  for await (const _ of pausedStreamPieces(stream, full, watch)) {
    const taken = batch;
    batch = [];
    yield taken;
  }
  if (batch.length > 0) yield batch;
}

/** The callback-style connection under mysql2's promise wrapper (for streaming queries). */
interface CoreConnection {
  query(options: {
    sql: string;
    rowsAsArray: boolean;
    typeCast: (field: { buffer(): Uint8Array | null }) => unknown;
  }): { stream(options: { highWaterMark: number }): unknown };
  /** Set by mysql2 once the connection has failed for good. */
  _fatalError?: Error | null;
  on(event: "error" | "end", listener: (error?: Error) => void): void;
  off(event: "error" | "end", listener: (error?: Error) => void): void;
}
