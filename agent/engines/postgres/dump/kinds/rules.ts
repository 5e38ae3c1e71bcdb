/**
 * Rules other than a view's own (`_RETURN`, which is the view), after the
 * data, each with the state it was left in (`ev_enabled`: disabled, or
 * firing always or only on replicas), as pg_dump writes it.
 *
 * @module
 */
import { FIRING_STATE, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** One object per rule. */
export async function collectRules(context: DumpContext): Promise<void> {
  const rows = await context.q(
    `SELECT r.oid::text AS oid, r.ev_class::text AS table_oid, pg_get_ruledef(r.oid) AS def,
      quote_ident(r.rulename) AS rule, ${qualifiedName("n.nspname", "c.relname")} AS relation,
      r.ev_enabled AS enabled
    FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE r.rulename <> '_RETURN' AND ${SYSTEM_SCHEMA}`,
  );
  for (const r of rows) {
    const name = `${r.rule} ON ${r.relation}`;
    const state = FIRING_STATE[r.enabled];
    context.add(dumpObject({
      key: catalogKey("pg_rewrite", r.oid),
      label: `RULE ${name}`,
      priority: PRIORITY.rule,
      sortName: name,
      section: "post-data",
      needs: [catalogKey("pg_class", r.table_oid)],
      write: () =>
        `${String(r.def).trimEnd()}\n` +
        (state ? `ALTER TABLE ${r.relation} ${state} RULE ${r.rule};\n` : ""),
    }));
  }
}
