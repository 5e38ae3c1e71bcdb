/**
 * PostgreSQL, natively with `postgres` (postgres.js), no client tool
 * (agent.md section 5): one `REPEATABLE READ, READ ONLY` transaction for
 * the whole dump, a plain-SQL dump that `psql` restores
 * (postgres_dump_writer.ts), and a native restore of that dump.
 *
 * @module
 */
import postgres from "postgres";
import type { Options, Sql } from "postgres";
import type { Secret } from "../../decrypt/secret.ts";
import { checkedDump, CompletionLineCheck } from "./checked_dump.ts";
import {
  describeBytes,
  DumpError,
  type DumpFormat,
  type DumpOptions,
  type DumpStream,
  type Engine,
  type RestoreResult,
} from "./engine.ts";
import { ident, writePostgresDump } from "./postgres_dump_writer.ts";
import { PgScriptReader, type ScriptItem } from "./pg_script_reader.ts";
import { finished } from "node:stream/promises";

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
}

/** A dump's first line is `-- PostgreSQL database dump` (after an optional blank "--" line). */
export const POSTGRES_FORMAT: DumpFormat = {
  description: "PostgreSQL SQL dump",
  headerBytes: 32,
  checkHeader(head) {
    const text = new TextDecoder().decode(head);
    return /^(--\n)?-- PostgreSQL database dump/.test(text)
      ? null
      : `expected "-- PostgreSQL database dump", got ${describeBytes(head.subarray(0, 28))}`;
  },
};

function sslOption(endpoint: PostgresEndpoint): Options<Record<string, never>>["ssl"] {
  switch (endpoint.sslMode) {
    case undefined:
    case "disable":
      return false;
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

/** A PostgreSQL server. */
export class PostgresEngine implements Engine {
  readonly name = "postgresql" as const;
  readonly format = POSTGRES_FORMAT;
  readonly #endpoint: PostgresEndpoint;

  /** The server at `endpoint`. */
  constructor(endpoint: PostgresEndpoint) {
    this.#endpoint = endpoint;
  }

  #client(database = this.#endpoint.database || "postgres"): Sql {
    const e = this.#endpoint;
    return postgres({
      host: e.host,
      port: e.port,
      user: e.user,
      password: e.password?.reveal(),
      database,
      ssl: sslOption(e),
      max: 1,
      idle_timeout: 5,
      connect_timeout: 15,
      onnotice: () => {},
      connection: { application_name: "backupy-agent" },
      // fetch_types stays on: catalog arrays arrive as arrays (and with it
      // off, reserve() never resolves in postgres.js 3.4.9).
    });
  }

  async #with<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = this.#client();
    try {
      return await work(sql);
    } catch (error) {
      throw this.#explain(error);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  #explain(error: unknown): DumpError {
    if (error instanceof DumpError) return error;
    const where = `${this.#endpoint.host}:${this.#endpoint.port}`;
    const message = (error as Error)?.message ?? String(error);
    return new DumpError(
      `PostgreSQL at ${where}, database ${this.#endpoint.database || "postgres"}: ${message}`,
    );
  }

  /** `PostgreSQL x.y` from the server itself. */
  version(): Promise<string> {
    return this.#with(async (sql) => {
      const [row] = await sql`SELECT current_setting('server_version') AS v`;
      return `PostgreSQL ${String(row.v).split(" ")[0]}`;
    });
  }

  /** pg_database_size of the database. */
  estimateSize(): Promise<number | undefined> {
    return this.#with(async (sql) => {
      const [row] = await sql`SELECT pg_database_size(current_database())::text AS n`;
      return Number(row.n);
    });
  }

  /** One snapshot transaction for the whole dump; the connection closes with the stream. */
  async dump(signal: AbortSignal, options: DumpOptions = {}): Promise<DumpStream> {
    if (!this.#endpoint.database) {
      throw new DumpError(
        "dumping every database of a PostgreSQL server is not supported yet: name a database",
      );
    }
    const client = this.#client();
    const close = () => void client.end({ timeout: 0 });
    signal.addEventListener("abort", close, { once: true });
    try {
      const sql = await client.reserve();
      await sql`BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY`;
      // A table locked by someone else fails the run with its name instead of hanging.
      await sql`SET LOCAL lock_timeout = '30s'`;
      // With an empty search_path the server's pg_get_*def and format_type
      // qualify every name, so the dump restores whatever the target's path.
      await sql`SELECT pg_catalog.set_config('search_path', '', true)`;
      const [row] =
        await sql`SELECT current_setting('server_version') AS v, current_setting('server_version_num')::int AS n`;
      const source = ReadableStream.from(writePostgresDump(sql, {
        serverVersion: String(row.v),
        versionNum: Number(row.n),
        database: this.#endpoint.database,
        warn: options.warn ?? (() => {}),
      }));
      return checkedDump(
        source,
        new CompletionLineCheck(/-- PostgreSQL database dump complete\n--\n$/),
        {
          cancelled: "the PostgreSQL dump was cancelled",
          cleanup: async () => {
            signal.removeEventListener("abort", close);
            await sql`COMMIT`.catch(() => {});
            sql.release();
            await client.end({ timeout: 1 });
          },
        },
      );
    } catch (error) {
      close();
      throw this.#explain(error);
    }
  }

  /**
   * Replays a dump this agent wrote - statements and COPY data through the
   * driver - in one transaction, into the target database (created from
   * template0 when missing). A database that already has tables is refused:
   * restoring never mixes with existing data.
   */
  async restore(source: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<RestoreResult> {
    const database = this.#endpoint.database;
    if (!database) throw new DumpError("restore needs a database in the target URL");
    const created = await this.#withDatabase("postgres", async (admin) => {
      const found = await admin`SELECT 1 FROM pg_database WHERE datname = ${database}`;
      if (found.length > 0) return false;
      await admin.unsafe(`CREATE DATABASE ${ident(database)} TEMPLATE template0`);
      return true;
    });
    const client = this.#client(database);
    const close = () => void client.end({ timeout: 0 });
    signal.addEventListener("abort", close, { once: true });
    let executed = 0;
    try {
      const sql = await client.reserve();
      const [{ n }] =
        await sql`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND s.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`;
      if (n > 0) {
        throw new DumpError(
          `database ${database} already has ${n} table(s): restore into an empty database`,
        );
      }
      await sql`BEGIN`;
      const reader = new PgScriptReader();
      let copy:
        | { write(chunk: string): boolean; end(): void; once(e: string, f: () => void): void }
        | null = null;
      const run = async (item: ScriptItem) => {
        try {
          if (item.kind === "statement") {
            await sql.unsafe(item.sql);
            executed++;
          } else if (item.kind === "copy-start") {
            copy = await sql.unsafe(item.sql).writable() as unknown as typeof copy;
            executed++;
          } else if (item.kind === "copy-data") {
            if (!copy!.write(item.text)) {
              await new Promise<void>((resolve) => copy!.once("drain", resolve));
            }
          } else {
            copy!.end();
            await finished(copy as unknown as NodeJS.WritableStream);
            copy = null;
          }
        } catch (error) {
          const what = item.kind === "statement" || item.kind === "copy-start"
            ? JSON.stringify(item.sql.slice(0, 120))
            : "COPY data";
          throw new DumpError(
            `restore failed at statement ${executed + 1} (${what}): ${(error as Error).message}`,
          );
        }
      };
      for await (const text of source.pipeThrough(new TextDecoderStream())) {
        for (const item of reader.push(text)) await run(item);
      }
      for (const item of reader.finish()) await run(item);
      await sql`COMMIT`;
      sql.release();
      return { units: executed, unit: "statements" };
    } catch (error) {
      await client.end({ timeout: 1 });
      // A database this restore created and could not fill is dropped again.
      if (created) {
        await this.#withDatabase(
          "postgres",
          (admin) => admin.unsafe(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`),
        )
          .catch(() => {});
      }
      throw this.#explain(error);
    } finally {
      signal.removeEventListener("abort", close);
      await client.end({ timeout: 1 });
    }
  }

  async #withDatabase<T>(database: string, work: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = this.#client(database);
    try {
      return await work(sql);
    } catch (error) {
      throw this.#explain(error);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
}
