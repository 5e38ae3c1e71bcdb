/**
 * PostgreSQL, natively with `postgres` (postgres.js), no client tool
 * (docs/agent.md section 5): one `REPEATABLE READ, READ ONLY` transaction for
 * the whole dump, a plain-SQL dump that `psql` restores
 * (postgres_dump_writer.ts), and a native restore of that dump.
 *
 * @module
 */
import "./engine_names.ts";
import type { Socket } from "node:net";
import type { Options, Sql } from "postgres";
import { RowDigest } from "../../manifest/row_digest.ts";
import { ident } from "./dump/catalog_sql.ts";
import type postgres from "postgres";

/** The driver, loaded on first use: an agent without PostgreSQL targets never pays for it. */
let driver: typeof postgres | undefined;
async function loadDriver(): Promise<typeof postgres> {
  driver ??= (await import("postgres")).default as typeof postgres;
  return driver;
}
import type { Secret } from "../../../decrypt/secret.ts";
import { checkedDump, CompletionLineCheck } from "../shared/checked_dump.ts";
import {
  DumpError,
  type DumpOptions,
  type DumpStream,
  type Engine,
  type RestoreOptions,
  type RestoreResult,
} from "../shared/engine.ts";
import { restorePostgres } from "./postgres_restore.ts";
import { DUMP_COMPLETE, dumpHeader, writeDatabaseBody } from "./postgres_dump_writer.ts";
import {
  databaseSection,
  type DatabaseSnapshot,
  listDatabases,
  type ListedDatabase,
  openSnapshot,
  type SnapshotInfo,
} from "./postgres_snapshot.ts";
import { POSTGRES_FORMAT } from "./postgres_format.ts";
import type { CopyTap } from "./dump/copy_tap.ts";
import { BufferPool } from "../../bytes/buffer_pool.ts";
import { PIECE_BUFFER_BYTES } from "./postgres_dump_writer.ts";
import { openPostgresSocket, type PostgresSocket, type PostgresTls } from "./postgres_socket.ts";

/** sslmode values, as libpq spells them. */
export type PostgresSslMode = "disable" | "prefer" | "require" | "verify-ca" | "verify-full";

/** Where and how to connect. */
export interface PostgresEndpoint {
  /** A host name, or the directory of a UNIX socket. */
  host: string;
  port: number;
  user: string;
  password?: Secret<string>;
  database: string;
  sslMode?: PostgresSslMode;
  /** CA file for verify-ca / verify-full. */
  sslRootCert?: string;
  /** How long the dump waits for a table someone else locked (30 s). */
  lockTimeoutMs?: number;
}

/** How the connection's socket negotiates TLS for `endpoint` (postgres_socket.ts does it). */
function socketTls(endpoint: PostgresEndpoint): PostgresTls {
  switch (endpoint.sslMode) {
    case "disable":
      return false;
    case undefined: // libpq's default too: TLS when the server offers it
    case "prefer":
      return "prefer";
    case "require":
      return "require";
    case "verify-ca":
    case "verify-full": {
      if (!endpoint.sslRootCert) {
        throw new DumpError(`sslmode=${endpoint.sslMode} needs sslrootcert`);
      }
      let ca: string;
      try {
        ca = Deno.readTextFileSync(endpoint.sslRootCert);
      } catch (error) {
        throw new DumpError(
          `cannot read sslrootcert ${endpoint.sslRootCert}: ${(error as Error).message}`,
        );
      }
      return endpoint.sslMode === "verify-full"
        ? { ca, rejectUnauthorized: true }
        : { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    }
  }
}

const encode = (text: string) => new TextEncoder().encode(text);

/** How long opening a connection may take (TCP, TLS and authentication each). */
const CONNECT_TIMEOUT_MS = 15_000;

/** postgres.js's `socket` option, in its README but not in its types. */
interface DriverSocketOption {
  socket: () => Promise<Socket>;
}

/** A dump's snapshot, and the tap its COPY rows are read through. */
type TappedSnapshot = DatabaseSnapshot & { copyTap(): CopyTap };

/** A PostgreSQL server. */
export class PostgresEngine implements Engine {
  readonly name = "postgresql" as const;
  readonly format = POSTGRES_FORMAT;
  readonly #endpoint: PostgresEndpoint;

  /** The server at `endpoint`. */
  constructor(endpoint: PostgresEndpoint) {
    this.#endpoint = endpoint;
  }

  /**
   * A one-connection client of `database`; `onSocket` is told each socket
   * it opens (the dump reads COPY rows through the socket's tap).
   */
  #client(
    database = this.#endpoint.database || "postgres",
    onclose?: () => void,
    onSocket?: (opened: PostgresSocket) => void,
  ): Sql {
    const e = this.#endpoint;
    if (!driver) throw new Error("internal: the PostgreSQL driver is not loaded");
    const target = { host: e.host, port: e.port, tls: socketTls(e), timeoutMs: CONNECT_TIMEOUT_MS };
    const options: Options<Record<string, never>> & DriverSocketOption = {
      host: e.host,
      port: e.port,
      user: e.user,
      password: e.password?.reveal(),
      database,
      // TLS is negotiated by the socket itself, so that the driver (and the tap) see plain messages.
      ssl: false,
      socket: async () => {
        const opened = await openPostgresSocket(target);
        onSocket?.(opened);
        return opened.socket;
      },
      max: 1,
      idle_timeout: 5,
      connect_timeout: CONNECT_TIMEOUT_MS / 1000,
      onnotice: () => {},
      connection: { application_name: "backupy-agent" },
      onclose: onclose ?? (() => {}),
      // fetch_types stays on: catalog arrays arrive as arrays (and with it
      // off, reserve() never resolves in postgres.js 3.4.9).
    };
    return driver(options);
  }

  async #with<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    await loadDriver();
    const sql = this.#client();
    try {
      return await work(sql);
    } catch (error) {
      throw this.#explain(error);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  #explain(error: unknown, database = this.#endpoint.database || "postgres"): DumpError {
    if (error instanceof DumpError) return error;
    const where = `${this.#endpoint.host}:${this.#endpoint.port}`;
    const message = (error as Error)?.message ?? String(error);
    return new DumpError(`PostgreSQL at ${where}, database ${database}: ${message}`);
  }

  /** `PostgreSQL x.y` from the server itself. */
  version(): Promise<string> {
    return this.#with(async (sql) => {
      const [row] = await sql`SELECT current_setting('server_version') AS v`;
      return `PostgreSQL ${String(row.v).split(" ")[0]}`;
    });
  }

  /** pg_database_size of the database, or of every database a whole-server dump covers. */
  estimateSize(): Promise<number | undefined> {
    return this.#with(async (sql) => {
      const [row] = this.#endpoint.database
        ? await sql`SELECT pg_database_size(current_database())::text AS n`
        : await sql`SELECT sum(pg_database_size(oid))::text AS n FROM pg_database
            WHERE datallowconn AND NOT datistemplate AND has_database_privilege(oid, 'CONNECT')`;
      return Number(row.n);
    });
  }

  /**
   * One snapshot transaction for the whole dump of a database; with no
   * database named, every connectable non-template database, one after the
   * other, each in its own snapshot and its own section. The connections
   * close with the stream.
   */
  async dump(signal: AbortSignal, options: DumpOptions = {}): Promise<DumpStream> {
    await loadDriver();
    const bodyOptions = {
      warn: options.warn ?? (() => {}),
      includePrivileges: options.includePrivileges ?? false,
    };
    // Manifest facts: per database, per table (named as the dump's COPY lines name it).
    const digests = new Map<string, Map<string, RowDigest>>();
    const positions = new Map<string, SnapshotInfo["position"]>();
    const pieces = new BufferPool(PIECE_BUFFER_BYTES);
    let current: Sql | null = null;
    const closeCurrent = () => void current?.end({ timeout: 0 });
    const open = async (database: string): Promise<TappedSnapshot> => {
      let lost = false;
      let tap: CopyTap | undefined;
      current = this.#client(database, () => lost = true, (opened) => tap = opened.tap);
      try {
        const snapshot = await openSnapshot(
          current,
          database,
          () => lost,
          this.#endpoint.lockTimeoutMs,
        );
        const copyTap = () => {
          if (!tap) throw new Error("internal: the dump's connection has no socket tap");
          return tap;
        };
        return { ...snapshot, copyTap };
      } catch (error) {
        closeCurrent();
        throw this.#explain(error, database);
      }
    };
    const named = this.#endpoint.database;
    signal.addEventListener("abort", closeCurrent, { once: true });
    let databases: { name: string }[];
    let first: TappedSnapshot;
    try {
      // Connect before the stream starts: a wrong password fails here, at once.
      databases = named ? [{ name: named }] : await this.#with((sql) => listDatabases(sql));
      if (databases.length === 0) throw new DumpError("the server has no database to dump");
      first = await open(databases[0].name);
    } catch (error) {
      signal.removeEventListener("abort", closeCurrent);
      throw error;
    }
    const generate = async function* (this: PostgresEngine) {
      yield encode(dumpHeader(
        first.info.serverVersion,
        named
          ? `database ${named}, in one REPEATABLE READ, READ ONLY transaction`
          : `${databases.length} database(s), each in its own REPEATABLE READ, READ ONLY transaction`,
      ));
      for (const [index, database] of databases.entries()) {
        if (!named) yield encode(databaseSection(database as ListedDatabase));
        const snapshot = index === 0 ? first : await open(database.name);
        const tables = new Map<string, RowDigest>();
        digests.set(database.name, tables);
        positions.set(database.name, snapshot.info.position);
        try {
          yield* writeDatabaseBody(snapshot.sql, {
            ...snapshot.info,
            copyTap: snapshot.copyTap,
            pieces,
            ...bodyOptions,
            digests: options.manifest ? tables : undefined,
          });
        } catch (error) {
          throw this.#explain(error, snapshot.info.database);
        } finally {
          await snapshot.close();
        }
      }
      yield encode(DUMP_COMPLETE);
    }.bind(this);
    const dump = checkedDump(
      ReadableStream.from(generate()),
      new CompletionLineCheck(/-- PostgreSQL database dump complete\n--\n$/),
      {
        cancelled: "the PostgreSQL dump was cancelled",
        cleanup: async () => {
          signal.removeEventListener("abort", closeCurrent);
          await (current as Sql | null)?.end({ timeout: 1 });
        },
      },
    );
    // The pieces are built in a few reused buffers, taken back once compressed.
    const recycled = { ...dump, recycle: (chunk: Uint8Array) => pieces.giveBack(chunk) };
    if (!options.manifest) return recycled;
    const manifest = dump.finished.then(() => ({
      snapshot: Object.fromEntries(
        [...positions].flatMap(([database, at]) => {
          const prefix = named ? "" : `${database}/`;
          return [[`${prefix}lsn`, at.lsn], [`${prefix}snapshot`, at.snapshot]];
        }),
      ),
      // A whole-server dump names each table with its database, as its \connect lines do.
      objects: [...digests].flatMap(([database, tables]) =>
        [...tables].map(([table, digest]) => ({
          name: named ? table : `${database}/${table}`,
          rows: digest.rows,
          digest: digest.hex(),
        }))
      ),
    }));
    manifest.catch(() => {});
    return { ...recycled, manifest };
  }

  /**
   * Drops database `name` (with FORCE: its sessions are ended); for
   * scratch databases that restore verification created.
   */
  async dropDatabase(name: string): Promise<void> {
    await loadDriver();
    const sql = this.#client("postgres");
    try {
      await sql.unsafe(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
    } catch (error) {
      throw this.#explain(error, "postgres");
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  /** Replays a dump this agent wrote: see postgres_restore.ts. */
  async restore(
    source: ReadableStream<Uint8Array>,
    signal: AbortSignal,
    options: RestoreOptions = {},
  ): Promise<RestoreResult> {
    await loadDriver();
    return await restorePostgres(
      {
        client: (database, onclose) => this.#client(database, onclose),
        explain: (error, database) => this.#explain(error, database),
      },
      this.#endpoint.database,
      source,
      signal,
      options,
    );
  }
}
