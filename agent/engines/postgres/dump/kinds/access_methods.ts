/**
 * Access methods a user created (`CREATE ACCESS METHOD`), before the tables
 * and indexes that use them.
 *
 * @module
 */
import { ident, NOT_EXTENSION_MEMBER } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** One object per user access method. */
export async function collectAccessMethods(context: DumpContext): Promise<void> {
  const rows = await context.q(`SELECT a.oid::text AS oid, a.amname AS name, a.amtype AS type,
      a.amhandler::regproc::text AS handler
    FROM pg_am a WHERE a.oid >= 16384 AND ${NOT_EXTENSION_MEMBER("pg_am", "a.oid")}`);
  for (const a of rows) {
    context.add(dumpObject({
      key: catalogKey("pg_am", a.oid),
      label: `ACCESS METHOD ${a.name}`,
      priority: PRIORITY.accessMethod,
      sortName: a.name,
      write: () =>
        `CREATE ACCESS METHOD ${ident(a.name)} TYPE ${
          a.type === "t" ? "TABLE" : "INDEX"
        } HANDLER ${a.handler};\n`,
    }));
  }
}
