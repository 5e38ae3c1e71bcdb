/**
 * Rules other than a view's own (`_RETURN`, which is the view), after the
 * data.
 *
 * @module
 */
import { qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** One object per rule. */
export async function collectRules(context: DumpContext): Promise<void> {
  const rows = await context.q(
    `SELECT r.oid::text AS oid, r.ev_class::text AS table_oid, pg_get_ruledef(r.oid) AS def,
      quote_ident(r.rulename) || ' ON ' || ${qualifiedName("n.nspname", "c.relname")} AS name
    FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE r.rulename <> '_RETURN' AND ${SYSTEM_SCHEMA}`,
  );
  for (const r of rows) {
    context.add(dumpObject({
      key: catalogKey("pg_rewrite", r.oid),
      label: `RULE ${r.name}`,
      priority: PRIORITY.rule,
      sortName: r.name,
      section: "post-data",
      needs: [catalogKey("pg_class", r.table_oid)],
      write: () => `${String(r.def).trimEnd()}\n`,
    }));
  }
}
