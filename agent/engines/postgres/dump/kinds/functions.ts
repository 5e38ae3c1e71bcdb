/**
 * Functions, procedures and aggregates. A function's definition comes from
 * the server (`pg_get_functiondef`, which keeps a SQL-standard `BEGIN
 * ATOMIC` body whole); the server records what such a body reads, so the
 * sort puts it after those tables. Range constructors and other functions
 * internal to an object are created by that object and left out.
 *
 * @module
 */
import { NOT_EXTENSION_MEMBER, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import { aggregateQuery, createAggregate } from "./aggregates.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** Functions and procedures, then aggregates. */
export async function collectFunctions(context: DumpContext): Promise<void> {
  const rows = await context.q(`SELECT p.oid::text AS oid, p.oid::regprocedure::text AS signature,
      p.prokind AS kind, pg_get_functiondef(p.oid) AS def
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prokind IN ('f', 'p', 'w') AND ${SYSTEM_SCHEMA} AND ${
    NOT_EXTENSION_MEMBER("pg_proc", "p.oid")
  }
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
        AND d.objid = p.oid AND d.deptype = 'i')`);
  for (const f of rows) {
    context.add(dumpObject({
      key: catalogKey("pg_proc", f.oid),
      label: `${f.kind === "p" ? "PROCEDURE" : "FUNCTION"} ${f.signature}`,
      priority: PRIORITY.function,
      sortName: f.signature,
      // One that needs an index or constraint (GROUP BY a primary key) waits for post-data.
      loopRepair: "postpone",
      write: () => `${String(f.def).trimEnd()};\n\n`,
    }));
  }
  for (const a of await context.q(aggregateQuery())) {
    context.add(dumpObject({
      key: catalogKey("pg_proc", a.oid),
      label: `AGGREGATE ${a.name}(${a.args || "*"})`,
      priority: PRIORITY.aggregate,
      sortName: `${a.name}(${a.args})`,
      write: () => createAggregate(a),
    }));
  }
}
