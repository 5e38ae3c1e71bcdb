/**
 * MySQL and MariaDB, natively with `mysql2` (docs/agent.md section 5): the whole
 * dump is read inside one `REPEATABLE READ` transaction started `WITH
 * CONSISTENT SNAPSHOT` - no global read lock, no LOCK TABLES - and written
 * as SQL that the `mysql`/`mariadb` client restores (mysql_dump_writer.ts).
 *
 * @module
 */
// The driver loads on first use: an agent without MySQL targets never pays for it.
import "./engine_names.ts";
import type { Connection, ConnectionOptions, RowDataPacket } from "mysql2/promise";
import { readFileSync } from "node:fs";
import type { Secret } from "../../../decrypt/secret.ts";
import { checkedDump, CompletionLineCheck } from "../shared/checked_dump.ts";
import {
  DumpError,
  type DumpOptions,
  type DumpStream,
  type Engine,
  type RestoreResult,
} from "../shared/engine.ts";
import { PIECE_BUFFER_BYTES, SYSTEM_DATABASES, writeMysqlDump } from "./mysql_dump_writer.ts";
import { quoteName } from "./sql_literal.ts";
import { StatementSplitter } from "./sql_statement_splitter.ts";
import { RowDigest } from "../../manifest/row_digest.ts";
import { BufferPool } from "../../bytes/buffer_pool.ts";
import { MYSQL_FORMAT } from "./mysql_format.ts";

/** ssl-mode values, as the mysql client spells them. */
export type MysqlSslMode = "DISABLED" | "PREFERRED" | "REQUIRED" | "VERIFY_CA" | "VERIFY_IDENTITY";

/** Where and how to connect. */
export interface MysqlEndpoint {
  host: string;
  port: number;
  /** A UNIX socket path instead of host and port. */
  socketPath?: string;
  user: string;
  password?: Secret<string>;
  /** Empty: every non-system database. */
  database: string;
  sslMode?: MysqlSslMode;
  /** CA file for VERIFY_CA / VERIFY_IDENTITY. */
  sslCa?: string;
  /** Leave DEFINER clauses out of the dump. */
  omitDefiner?: boolean;
}

/** "MariaDB 10.11.6" or "MySQL 8.0.36" from SELECT VERSION(). */
export function describeServer(version: string): { flavor: "MariaDB" | "MySQL"; label: string } {
  const plain = version.replace(/^5\.5\.5-/, ""); // MariaDB's old replication prefix
  const number = /^(\d+\.\d+\.\d+)/.exec(plain)?.[1] ?? plain;
  const flavor = /mariadb/i.test(plain) ? "MariaDB" : "MySQL";
  return { flavor, label: `${flavor} ${number}` };
}

function connectionOptions(endpoint: MysqlEndpoint): ConnectionOptions {
  const options: ConnectionOptions = {
    user: endpoint.user,
    password: endpoint.password?.reveal(),
    // No default database: every name is qualified, and a missing database
    // gets a clearer message from the dump than from the handshake.
    charset: "utf8mb4",
    connectTimeout: 15_000,
    multipleStatements: false,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  };
  if (endpoint.socketPath) options.socketPath = endpoint.socketPath;
  else {
    options.host = endpoint.host;
    options.port = endpoint.port;
  }
  switch (endpoint.sslMode) {
    case "REQUIRED":
      options.ssl = { rejectUnauthorized: false };
      break;
    case "VERIFY_CA":
      // The CA must sign the certificate; the host name is not checked
      // (mysql2 hands these options to node:tls, which knows checkServerIdentity).
      options.ssl = {
        ca: readCa(endpoint.sslCa),
        rejectUnauthorized: true,
        checkServerIdentity: () => undefined,
      } as ConnectionOptions["ssl"];
      break;
    case "VERIFY_IDENTITY":
      options.ssl = { ca: readCa(endpoint.sslCa), rejectUnauthorized: true };
      break;
  }
  return options;
}

function readCa(path: string | undefined): string {
  if (!path) throw new DumpError("ssl-mode VERIFY_CA and VERIFY_IDENTITY need a CA file (ssl-ca)");
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new DumpError(`cannot read the CA file ${path}: ${(error as Error).message}`);
  }
}

/** A MySQL or MariaDB server. */
export class MysqlEngine implements Engine {
  readonly name: "mysql" | "mariadb";
  readonly format = MYSQL_FORMAT;
  readonly #endpoint: MysqlEndpoint;

  /** `name` is what the target says; the dump's header follows what the server says. */
  constructor(endpoint: MysqlEndpoint, name: "mysql" | "mariadb" = "mysql") {
    this.#endpoint = endpoint;
    this.name = name;
  }

  async #connect(): Promise<Connection> {
    const where = this.#endpoint.socketPath ?? `${this.#endpoint.host}:${this.#endpoint.port}`;
    try {
      const mysql = (await import("mysql2/promise")).default;
      return await mysql.createConnection(connectionOptions(this.#endpoint));
    } catch (error) {
      throw new DumpError(
        `cannot connect to ${where} as ${this.#endpoint.user}: ${(error as Error).message}`,
      );
    }
  }

  async #withConnection<T>(work: (conn: Connection) => Promise<T>): Promise<T> {
    const conn = await this.#connect();
    try {
      return await work(conn);
    } catch (error) {
      if (error instanceof DumpError) throw error;
      throw new DumpError((error as Error).message);
    } finally {
      conn.destroy();
    }
  }

  /** `MariaDB x.y.z` or `MySQL x.y.z`, from the server itself. */
  version(): Promise<string> {
    return this.#withConnection(async (conn) => {
      const [rows] = await conn.query<RowDataPacket[]>("SELECT VERSION() AS v");
      return describeServer(String(rows[0].v)).label;
    });
  }

  /** The data length of the tables to dump. */
  estimateSize(): Promise<number | undefined> {
    return this.#withConnection(async (conn) => {
      const database = this.#endpoint.database;
      const [rows] = await conn.query<RowDataPacket[]>(
        database
          ? "SELECT SUM(DATA_LENGTH) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?"
          : `SELECT SUM(DATA_LENGTH) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN (${
            SYSTEM_DATABASES.map(() => "?").join(",")
          })`,
        database ? [database] : SYSTEM_DATABASES,
      );
      const n = Number(rows[0]?.n ?? 0);
      return n > 0 ? n : undefined;
    });
  }

  /** Opens the snapshot and streams the dump; the connection closes with the stream. */
  async dump(signal: AbortSignal, options: DumpOptions = {}): Promise<DumpStream> {
    const conn = await this.#connect();
    const close = () => conn.destroy();
    signal.addEventListener("abort", close, { once: true });
    try {
      const [rows] = await conn.query<RowDataPacket[]>("SELECT VERSION() AS v");
      const server = describeServer(String(rows[0].v));
      if (this.#endpoint.database) {
        const [found] = await conn.query<RowDataPacket[]>(
          "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
          [this.#endpoint.database],
        );
        if (found.length === 0) {
          throw new DumpError(
            `database ${this.#endpoint.database} does not exist (or is not visible to this user)`,
          );
        }
      }
      // Everything below reads one point in time.
      await conn.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      await conn.query("SET time_zone = '+00:00'");
      await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
      const digests = options.manifest ? new Map<string, RowDigest>() : undefined;
      const snapshot = digests && server.flavor === "MariaDB"
        ? await mariadbSnapshotPosition(conn)
        : undefined;
      // The pieces are built in a few reused buffers, taken back once compressed.
      const pieces = new BufferPool(PIECE_BUFFER_BYTES);
      const source = ReadableStream.from(writeMysqlDump(conn, {
        pieces,
        flavor: server.flavor,
        serverVersion: String(rows[0].v),
        database: this.#endpoint.database || null,
        warn: options.warn ?? (() => {}),
        omitDefiner: this.#endpoint.omitDefiner,
        digests,
      }));
      const dump = checkedDump(source, new CompletionLineCheck(/-- Dump completed on [^\n]+\n$/), {
        cancelled: "the MySQL dump was cancelled",
        cleanup: () => {
          signal.removeEventListener("abort", close);
          return conn.end().catch(close);
        },
      });
      const recycled = { ...dump, recycle: (chunk: Uint8Array) => pieces.giveBack(chunk) };
      if (!digests) return recycled;
      const manifest = dump.finished.then(() => ({
        ...(snapshot ? { snapshot } : {}),
        objects: [...digests].map(([name, d]) => ({ name, rows: d.rows, digest: d.hex() })),
      }));
      manifest.catch(() => {});
      return { ...recycled, manifest };
    } catch (error) {
      close();
      if (error instanceof DumpError) throw error;
      throw new DumpError((error as Error).message);
    }
  }

  /**
   * Replays a dump through the driver, statement by statement (DELIMITER
   * aware), into the target's database - created when missing - or, for an
   * all-databases dump, into the databases it names.
   */
  /** Drops database `name`; for scratch databases that restore verification created. */
  async dropDatabase(name: string): Promise<void> {
    const conn = await this.#connect();
    try {
      await conn.query(`DROP DATABASE IF EXISTS ${quoteName(name)}`);
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }

  async restore(source: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<RestoreResult> {
    const conn = await this.#connect();
    const close = () => conn.destroy();
    signal.addEventListener("abort", close, { once: true });
    let executed = 0;
    try {
      const database = this.#endpoint.database;
      if (database) {
        await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteName(database)}`);
        await conn.query(`USE ${quoteName(database)}`);
      }
      const splitter = new StatementSplitter();
      const run = async (statement: string) => {
        try {
          await conn.query(statement);
        } catch (error) {
          throw new DumpError(
            `restore failed at statement ${executed + 1} (${
              JSON.stringify(statement.slice(0, 120))
            }): ${(error as Error).message}`,
          );
        }
        executed++;
      };
      for await (const text of source.pipeThrough(new TextDecoderStream())) {
        for (const statement of splitter.push(text)) await run(statement);
      }
      for (const statement of splitter.finish()) await run(statement);
      return { units: executed, unit: "statements" };
    } catch (error) {
      if (error instanceof DumpError) throw error;
      throw new DumpError(
        `restore failed after ${executed} statements: ${(error as Error).message}`,
      );
    } finally {
      signal.removeEventListener("abort", close);
      await conn.end().catch(close);
    }
  }
}

/**
 * MariaDB's binary log position of the transaction's consistent snapshot
 * (the `Binlog_snapshot_*` status it keeps for exactly this); undefined
 * when the server writes no binary log. (MySQL has no equivalent that
 * needs no extra privilege, so its dumps record none.)
 */
async function mariadbSnapshotPosition(
  conn: Connection,
): Promise<Record<string, string> | undefined> {
  const [rows] = await conn.query<RowDataPacket[]>("SHOW STATUS LIKE 'binlog_snapshot_%'");
  const status = Object.fromEntries(
    rows.map((row) => [String(row.Variable_name).toLowerCase(), String(row.Value)]),
  );
  const file = status.binlog_snapshot_file ?? "";
  if (file === "") return undefined;
  return { binlog_file: file, binlog_position: status.binlog_snapshot_position ?? "" };
}
