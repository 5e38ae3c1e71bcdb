/**
 * Native restore of a plain-SQL dump this agent wrote (docs/agent.md section 4):
 * statements and COPY data replayed through postgres.js, one transaction
 * per database unless asked otherwise. A dump of one database goes into the
 * named target database (created from template0 when missing); a dump of a
 * whole server (with `\connect` sections) into the server, creating its
 * databases. A database that already has tables is refused unless `clean`
 * asks to drop and recreate it: restoring never mixes with existing data.
 *
 * @module
 */
import type { ReservedSql, Sql } from "postgres";
import { finished } from "node:stream/promises";
import { DumpError, type RestoreOptions, type RestoreResult } from "../shared/engine.ts";
import { ident } from "./dump/catalog_sql.ts";
import { PgScriptReader, type ScriptItem } from "./pg_script_reader.ts";
import { refuseWhenLost } from "./postgres_snapshot.ts";

/** What the restore needs from the engine. */
export interface RestoreConnector {
  /** A new client for `database`; `onclose` is told when a connection closes. */
  client(database: string, onclose?: () => void): Sql;
  /** The error to show for a driver error, naming the server and database. */
  explain(error: unknown, database: string): DumpError;
}

/** The section of a whole-server dump that creates a database; group 1 is its quoted name. */
const CREATE_DATABASE = /^CREATE DATABASE ("(?:[^"]|"")+")/i;

interface CopyWritable {
  write(chunk: string): boolean;
  end(): void;
  once(event: string, listener: () => void): void;
}

/** An open database of the restore. */
interface Session {
  database: string;
  client: Sql;
  sql: ReservedSql;
}

/**
 * Replays `source` into `database` (a named target) or, when it is empty,
 * into the server the dump's `\connect` sections name. A failed restore
 * drops the databases it created.
 */
export async function restorePostgres(
  connector: RestoreConnector,
  database: string,
  source: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const restore = new PostgresRestore(connector, database, options);
  const abort = () => restore.abort();
  signal.addEventListener("abort", abort, { once: true });
  try {
    return await restore.replay(source);
  } catch (error) {
    await restore.undo();
    throw error instanceof DumpError ? error : connector.explain(error, database || "postgres");
  } finally {
    signal.removeEventListener("abort", abort);
  }
}

/** One restore: the databases it created, the open one, the COPY under way. */
class PostgresRestore {
  readonly #connector: RestoreConnector;
  /** The named target database; empty for a whole-server dump. */
  readonly #target: string;
  readonly #options: RestoreOptions;
  /** One transaction per database (the default). */
  readonly #single: boolean;
  readonly #created: string[] = [];
  #session: Session | null = null;
  #copy: CopyWritable | null = null;
  #executed = 0;

  constructor(connector: RestoreConnector, target: string, options: RestoreOptions) {
    this.#connector = connector;
    this.#target = target;
    this.#options = options;
    this.#single = options.singleTransaction ?? true;
  }

  /** Replays the whole script; the number of statements run. */
  async replay(source: ReadableStream<Uint8Array>): Promise<RestoreResult> {
    if (this.#target) {
      await this.#prepare(this.#target);
      await this.#open(this.#target);
    }
    const reader = new PgScriptReader();
    for await (const text of source.pipeThrough(new TextDecoderStream())) {
      for (const item of reader.push(text)) await this.#step(item);
    }
    for (const item of reader.finish()) await this.#step(item);
    await this.#finishSession();
    return { units: this.#executed, unit: "statements" };
  }

  /** Cuts the open connection (the run was cancelled): the replay then fails. */
  abort(): void {
    void this.#session?.client.end({ timeout: 0 });
  }

  /** After a failure: closes the open connection and drops every database this restore created. */
  async undo(): Promise<void> {
    await this.#session?.client.end({ timeout: 1 });
    for (const name of this.#created) {
      await this.#drop(name).catch(() => {});
    }
  }

  /** Runs one item; a driver error names the statement it failed at. */
  async #step(item: ScriptItem): Promise<void> {
    try {
      await this.#run(item);
    } catch (error) {
      if (error instanceof DumpError) throw error;
      const what = item.kind === "statement" || item.kind === "copy-start"
        ? JSON.stringify(item.sql.slice(0, 120))
        : item.kind === "connect"
        ? `\\connect ${item.database}`
        : "COPY data";
      throw this.#connector.explain(
        new Error(
          `restore failed at statement ${this.#executed + 1} (${what}): ${
            (error as Error).message
          }`,
        ),
        this.#session?.database ?? (this.#target || "postgres"),
      );
    }
  }

  async #run(item: ScriptItem): Promise<void> {
    const createsDatabase = item.kind === "statement"
      ? CREATE_DATABASE.exec(item.sql)?.[1]
      : undefined;
    if ((item.kind === "connect" || createsDatabase !== undefined) && this.#target) {
      throw new DumpError(
        "this dump holds several databases: restore it with a target URL that names no database",
      );
    }
    if (item.kind === "connect") {
      await this.#finishSession();
      // A database the dump does not create (postgres) is made empty only on request.
      if (this.#options.clean && !this.#created.includes(item.database)) {
        await this.#prepare(item.database);
      }
      await this.#open(item.database);
    } else if (item.kind === "statement" && createsDatabase !== undefined) {
      await this.#prepare(createsDatabase.slice(1, -1).replaceAll('""', '"'), item.sql);
      this.#executed++;
    } else {
      if (!this.#session) {
        throw new DumpError(
          "this is the dump of one database: name the target database in the URL",
        );
      }
      await this.#apply(item, this.#session);
    }
  }

  /** A statement or a part of a COPY, in the open database. */
  async #apply(item: Exclude<ScriptItem, { kind: "connect" }>, session: Session): Promise<void> {
    if (item.kind === "statement") {
      await session.sql.unsafe(item.sql);
      this.#executed++;
    } else if (item.kind === "copy-start") {
      this.#copy = await session.sql.unsafe(item.sql).writable() as unknown as CopyWritable;
      this.#executed++;
    } else if (item.kind === "copy-data") {
      const copy = this.#copy!;
      if (!copy.write(item.text)) await new Promise<void>((resolve) => copy.once("drain", resolve));
    } else {
      const copy = this.#copy!;
      copy.end();
      await finished(copy as unknown as NodeJS.WritableStream);
      this.#copy = null;
    }
  }

  /** Makes `name` ready to receive a dump: present and empty. */
  async #prepare(name: string, createStatement?: string): Promise<void> {
    const present = await this.#exists(name);
    if (present && this.#options.clean) await this.#drop(name);
    if (!present || this.#options.clean) {
      await this.#admin(
        name,
        (sql) => sql.unsafe(createStatement ?? `CREATE DATABASE ${ident(name)} TEMPLATE template0`),
      );
      this.#created.push(name);
    }
  }

  /** Connects to `name`, refuses it when it has tables, and begins its transaction. */
  async #open(name: string): Promise<void> {
    let lost = false;
    const client = this.#connector.client(name, () => lost = true);
    const sql = refuseWhenLost(
      await client.reserve().catch((error) => {
        void client.end({ timeout: 0 });
        throw this.#connector.explain(error, name);
      }),
      () => lost,
    );
    this.#session = { database: name, client, sql };
    const [{ n }] =
      await sql`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND s.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`;
    if (n > 0) {
      throw new DumpError(
        `database ${name} already has ${n} table(s): restore into an empty database, or pass --clean to drop and recreate it`,
      );
    }
    if (this.#single) await sql`BEGIN`;
  }

  /** Commits and closes the open database, if any. */
  async #finishSession(): Promise<void> {
    const session = this.#session;
    if (!session) return;
    if (this.#single) await session.sql`COMMIT`;
    session.sql.release();
    await session.client.end({ timeout: 1 });
    this.#session = null;
  }

  #exists(name: string): Promise<boolean> {
    return this.#admin(
      name,
      async (sql) => (await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`).length > 0,
    );
  }

  async #drop(name: string): Promise<void> {
    await this.#admin(
      name,
      (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`),
    );
  }

  /** CREATE and DROP DATABASE run outside any transaction, from another database. */
  async #admin<T>(about: string, work: (sql: Sql) => Promise<T>): Promise<T> {
    const from = about === "postgres" ? "template1" : "postgres";
    const client = this.#connector.client(from);
    try {
      return await work(client);
    } catch (error) {
      throw this.#connector.explain(error, from);
    } finally {
      await client.end({ timeout: 1 });
    }
  }
}
