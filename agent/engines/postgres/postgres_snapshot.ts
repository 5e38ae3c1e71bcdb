/**
 * The pieces of a PostgreSQL dump that are about connections rather than
 * objects: the snapshot transaction a database is read in, the list of
 * databases a whole-server dump covers, and the section that creates and
 * connects to each one (as `pg_dumpall` splits a cluster).
 *
 * @module
 */
import type { ReservedSql, Sql } from "postgres";
import { ident, literal } from "./dump/catalog_sql.ts";

/** What the dump writer needs to know about the server and database. */
export interface SnapshotInfo {
  serverVersion: string;
  versionNum: number;
  database: string;
  /**
   * Where the snapshot stands: the WAL position (`lsn`; the replay position
   * on a standby) and the transaction snapshot (`xmin:xmax:xip`).
   */
  position: { lsn: string; snapshot: string };
}

/** A reserved connection inside its snapshot transaction. */
export interface DatabaseSnapshot {
  sql: ReservedSql;
  info: SnapshotInfo;
  /** Ends the transaction and the client. */
  close(): Promise<void>;
}

/**
 * Starts the snapshot on `client` (a client for `database`): one
 * `REPEATABLE READ, READ ONLY` transaction, a lock timeout so a table
 * locked by someone else fails the run with its name instead of hanging,
 * and an empty search_path so the server's `pg_get_*def` functions qualify
 * every name.
 */
export async function openSnapshot(
  client: Sql,
  database: string,
  lost: () => boolean,
  lockTimeoutMs = 30_000,
): Promise<DatabaseSnapshot> {
  const reserved = await client.reserve();
  const sql = refuseWhenLost(reserved, lost);
  try {
    await sql`BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY, DEFERRABLE`;
    await sql`SELECT pg_catalog.set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`;
    await sql`SELECT pg_catalog.set_config('search_path', '', true)`;
    // Output that reads back the same anywhere, as pg_dump pins it - and the
    // same text for the same rows on any server, so a restored copy re-dumped
    // elsewhere gives the manifest's digests: ISO dates, postgres intervals,
    // floats exact, timestamps with time zone in UTC, bytea as hex.
    await sql`SELECT pg_catalog.set_config('DateStyle', 'ISO', true),
      pg_catalog.set_config('IntervalStyle', 'postgres', true),
      pg_catalog.set_config('extra_float_digits', '3', true),
      pg_catalog.set_config('TimeZone', 'UTC', true),
      pg_catalog.set_config('bytea_output', 'hex', true)`;
    const [row] =
      await sql`SELECT current_setting('server_version') AS v, current_setting('server_version_num')::int AS n`;
    const versionNum = Number(row.n);
    // Functions every role may call; the names changed in 10 (xlog -> wal) and 13.
    const [at] = await sql.unsafe(
      versionNum >= 100000
        ? `SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
             ELSE pg_current_wal_lsn() END)::text AS lsn,
           ${
          versionNum >= 130000 ? "pg_current_snapshot()" : "txid_current_snapshot()"
        }::text AS snap`
        : `SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_xlog_replay_location()
             ELSE pg_current_xlog_location() END)::text AS lsn, txid_current_snapshot()::text AS snap`,
    );
    return {
      sql,
      info: {
        serverVersion: String(row.v),
        versionNum,
        database,
        position: { lsn: String(at.lsn), snapshot: String(at.snap) },
      },
      // No COMMIT: the transaction only read, and ending the connection ends
      // it. (A query after the server killed the backend makes postgres.js
      // throw from a timer, outside any promise.)
      close: async () => {
        sql.release();
        await client.end({ timeout: 1 });
      },
    };
  } catch (error) {
    reserved.release();
    throw error;
  }
}

/**
 * `sql` that fails a query at once when its connection was closed (server
 * restart, backend terminated). postgres.js 3.4.9 would send it anyway and
 * throw from a timer, outside any promise, taking the process down.
 */
export function refuseWhenLost(sql: ReservedSql, lost: () => boolean): ReservedSql {
  const check = () => {
    if (lost()) {
      throw new Error(
        "the connection to the server was lost (server restarted or backend terminated)",
      );
    }
  };
  return new Proxy(sql, {
    apply(target, self, args) {
      check();
      return Reflect.apply(target, self, args);
    },
    get(target, property) {
      const value = Reflect.get(target, property);
      if (property !== "unsafe" || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        check();
        return value.apply(target, args);
      };
    },
  });
}

/** A database of a whole-server dump, with what CREATE DATABASE needs. */
export interface ListedDatabase {
  name: string;
  encoding: string;
  collate: string;
  ctype: string;
}

/** Every database a client can connect to, templates excluded, in name order. */
export async function listDatabases(sql: Sql): Promise<ListedDatabase[]> {
  const rows = await sql`SELECT datname AS name, pg_encoding_to_char(encoding) AS encoding,
      datcollate AS collate, datctype AS ctype
    FROM pg_database WHERE datallowconn AND NOT datistemplate
      AND has_database_privilege(oid, 'CONNECT') ORDER BY datname`;
  return rows.map((r) => ({
    name: String(r.name),
    encoding: String(r.encoding),
    collate: String(r.collate),
    ctype: String(r.ctype),
  }));
}

/** A psql `\connect` that takes any database name literally (never as a connection string). */
export function connectCommand(database: string): string {
  const conninfo = `dbname='${database.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  return `\\connect -reuse-previous=on "${conninfo.replaceAll('"', '""')}"\n`;
}

/**
 * Creates a database (except `postgres`, which every cluster has) and
 * connects to it; the database's own dump follows.
 */
export function databaseSection(database: ListedDatabase): string {
  const create = database.name === "postgres" ? "" : `CREATE DATABASE ${ident(database.name)} ` +
    `WITH TEMPLATE = template0 ENCODING = '${database.encoding}' ` +
    `LC_COLLATE = ${literal(database.collate)} LC_CTYPE = ${literal(database.ctype)};\n`;
  return `\n--\n-- Database ${JSON.stringify(database.name)}\n--\n\n${create}${
    connectCommand(database.name)
  }\n`;
}
