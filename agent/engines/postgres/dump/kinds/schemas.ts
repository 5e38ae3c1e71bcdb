/**
 * Schemas and extensions: the first things a dump creates. `public` exists
 * in every new database and is not created again; plpgsql comes with every
 * database too.
 *
 * @module
 */
import { ident, NOT_EXTENSION_MEMBER, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** CREATE SCHEMA for every user schema but public. */
export async function collectSchemas(context: DumpContext): Promise<void> {
  const rows = await context.q(`SELECT n.oid::text AS oid, n.nspname AS name FROM pg_namespace n
    WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_namespace", "n.oid")}`);
  for (const { oid, name } of rows) {
    context.add(dumpObject({
      key: catalogKey("pg_namespace", oid),
      label: `SCHEMA ${name}`,
      priority: PRIORITY.schema,
      sortName: name,
      write: name === "public" ? undefined : () => `CREATE SCHEMA ${ident(name)};\n`,
    }));
  }
}

/** CREATE EXTENSION for every extension but plpgsql, in the schema it is in now. */
export async function collectExtensions(context: DumpContext): Promise<void> {
  const rows = await context.q(`SELECT e.oid::text AS oid, e.extname AS name, n.nspname AS schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'`);
  for (const { oid, name, schema } of rows) {
    context.add(dumpObject({
      key: catalogKey("pg_extension", oid),
      label: `EXTENSION ${name}`,
      priority: PRIORITY.extension,
      sortName: name,
      needs: [],
      write: () => `CREATE EXTENSION IF NOT EXISTS ${ident(name)} WITH SCHEMA ${ident(schema)};\n`,
    }));
  }
}
