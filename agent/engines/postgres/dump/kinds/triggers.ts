/**
 * Triggers, after the data (so loading it fires none): user triggers, not
 * the internal ones behind foreign keys nor the clones a partitioned
 * table's trigger makes on its partitions.
 *
 * @module
 */
import { FIRING_STATE, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** One object per user trigger. */
export async function collectTriggers(context: DumpContext): Promise<void> {
  // Before 13 the server had no tgparentid: partitions' clones are told by being internal there.
  const clone = context.versionNum >= 130000 ? "t.tgparentid" : "0::oid";
  // On 13 and 14 the clones are internal too: one whose state differs from its parent's is still ours.
  const changedClone = context.versionNum >= 130000 && context.versionNum < 150000
    ? "OR (t.tgparentid <> 0 AND t.tgenabled <> (SELECT p.tgenabled FROM pg_trigger p WHERE p.oid = t.tgparentid))"
    : "";
  const rows = await context.q(
    `SELECT t.oid::text AS oid, t.tgrelid::text AS table_oid, pg_get_triggerdef(t.oid) AS def,
      quote_ident(t.tgname) || ' ON ' || ${qualifiedName("n.nspname", "c.relname")} AS name,
      t.tgenabled AS enabled, ${qualifiedName("n.nspname", "c.relname")} AS tbl,
      quote_ident(t.tgname) AS tgname, ${clone}::text AS parent_oid,
      (SELECT p.tgenabled FROM pg_trigger p WHERE p.oid = ${clone}) AS parent_enabled
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE (NOT t.tgisinternal ${changedClone}) AND ${SYSTEM_SCHEMA}`,
  );
  for (const t of rows) {
    // A partition's clone of its parent's trigger is made by the parent's; only a changed state is ours.
    if (t.parent_oid !== "0") {
      if (t.enabled === t.parent_enabled) continue;
      context.add(dumpObject({
        key: catalogKey("pg_trigger", t.oid),
        label: `TRIGGER STATE ${t.name}`,
        priority: PRIORITY.trigger,
        sortName: t.name,
        section: "post-data",
        needs: [catalogKey("pg_class", t.table_oid), catalogKey("pg_trigger", t.parent_oid)],
        write: () =>
          `ALTER TABLE ${t.tbl} ${FIRING_STATE[t.enabled] ?? "ENABLE"} TRIGGER ${t.tgname};\n`,
      }));
      continue;
    }
    context.add(dumpObject({
      key: catalogKey("pg_trigger", t.oid),
      label: `TRIGGER ${t.name}`,
      priority: PRIORITY.trigger,
      sortName: t.name,
      section: "post-data",
      needs: [catalogKey("pg_class", t.table_oid)],
      write: () =>
        `${t.def};\n` +
        (FIRING_STATE[t.enabled]
          ? `ALTER TABLE ${t.tbl} ${FIRING_STATE[t.enabled]} TRIGGER ${t.tgname};\n`
          : ""),
    }));
  }
}
