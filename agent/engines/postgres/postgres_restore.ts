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
 * into the server the dump's `\connect` sections name.
 */
export async function restorePostgres(
  connector: RestoreConnector,
  database: string,
  source: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const single = options.singleTransaction ?? true;
  const created: string[] = [];
  let session: Session | null = null;
  let copy: CopyWritable | null = null;
  let executed = 0;
  const close = () => void session?.client.end({ timeout: 0 });
  signal.addEventListener("abort", close, { once: true });

  // CREATE and DROP DATABASE run outside any transaction, from another database.
  const admin = async <T>(about: string, work: (sql: Sql) => Promise<T>): Promise<T> => {
    const from = about === "postgres" ? "template1" : "postgres";
    const client = connector.client(from);
    try {
      return await work(client);
    } catch (error) {
      throw connector.explain(error, from);
    } finally {
      await client.end({ timeout: 1 });
    }
  };
  const exists = (name: string) =>
    admin(
      name,
      async (sql) => (await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`).length > 0,
    );
  const drop = (name: string) =>
    admin(name, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));

  /** Makes `name` ready to receive a dump: present and empty. */
  const prepare = async (name: string, createStatement?: string) => {
    const present = await exists(name);
    if (present && options.clean) await drop(name);
    if (!present || options.clean) {
      await admin(
        name,
        (sql) => sql.unsafe(createStatement ?? `CREATE DATABASE ${ident(name)} TEMPLATE template0`),
      );
      created.push(name);
    }
  };
  const open = async (name: string) => {
    let lost = false;
    const client = connector.client(name, () => lost = true);
    const sql = refuseWhenLost(
      await client.reserve().catch((error) => {
        void client.end({ timeout: 0 });
        throw connector.explain(error, name);
      }),
      () => lost,
    );
    session = { database: name, client, sql };
    const [{ n }] =
      await sql`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND s.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`;
    if (n > 0) {
      throw new DumpError(
        `database ${name} already has ${n} table(s): restore into an empty database, or pass --clean to drop and recreate it`,
      );
    }
    if (single) await sql`BEGIN`;
  };
  const finishSession = async () => {
    const current = session as Session | null;
    if (!current) return;
    if (single) await current.sql`COMMIT`;
    current.sql.release();
    await current.client.end({ timeout: 1 });
    session = null;
  };

  const run = async (item: ScriptItem) => {
    const current = session as Session | null;
    const createsDatabase = item.kind === "statement"
      ? CREATE_DATABASE.exec(item.sql)?.[1]
      : undefined;
    if (item.kind === "connect" || createsDatabase !== undefined) {
      if (database) {
        throw new DumpError(
          "this dump holds several databases: restore it with a target URL that names no database",
        );
      }
    }
    if (item.kind === "connect") {
      await finishSession();
      // A database the dump does not create (postgres) is made empty only on request.
      if (options.clean && !created.includes(item.database)) await prepare(item.database);
      await open(item.database);
      return;
    }
    if (createsDatabase !== undefined) {
      await prepare(
        createsDatabase.slice(1, -1).replaceAll('""', '"'),
        (item as { sql: string }).sql,
      );
      executed++;
      return;
    }
    if (!current) {
      throw new DumpError(
        "this is the dump of one database: name the target database in the URL",
      );
    }
    if (item.kind === "statement") {
      await current.sql.unsafe(item.sql);
      executed++;
    } else if (item.kind === "copy-start") {
      copy = await current.sql.unsafe(item.sql).writable() as unknown as CopyWritable;
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
  };

  try {
    if (database) {
      await prepare(database);
      await open(database);
    }
    const reader = new PgScriptReader();
    const step = async (item: ScriptItem) => {
      try {
        await run(item);
      } catch (error) {
        if (error instanceof DumpError) throw error;
        const what = item.kind === "statement" || item.kind === "copy-start"
          ? JSON.stringify(item.sql.slice(0, 120))
          : item.kind === "connect"
          ? `\\connect ${item.database}`
          : "COPY data";
        throw connector.explain(
          new Error(
            `restore failed at statement ${executed + 1} (${what}): ${(error as Error).message}`,
          ),
          (session as Session | null)?.database ?? (database || "postgres"),
        );
      }
    };
    for await (const text of source.pipeThrough(new TextDecoderStream())) {
      for (const item of reader.push(text)) await step(item);
    }
    for (const item of reader.finish()) await step(item);
    await finishSession();
    return { units: executed, unit: "statements" };
  } catch (error) {
    await (session as Session | null)?.client.end({ timeout: 1 });
    // A failed restore leaves no database it created behind.
    for (const name of created) {
      await drop(name).catch(() => {});
    }
    throw error instanceof DumpError ? error : connector.explain(error, database || "postgres");
  } finally {
    signal.removeEventListener("abort", close);
  }
}
