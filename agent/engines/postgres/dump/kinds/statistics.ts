/**
 * Extended statistics objects (CREATE STATISTICS), after the data as
 * pg_dump puts them, with a statistics target where one was set.
 *
 * @module
 */
import { qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** Every user statistics object. */
export async function collectStatistics(context: DumpContext): Promise<void> {
  // The target exists from 13; -1 meant "default" until 17 made it NULL.
  const target = context.versionNum >= 130000 ? "s.stxstattarget" : "NULL::int";
  const rows = await context.q(
    `SELECT s.oid::text AS oid, ${qualifiedName("n.nspname", "s.stxname")} AS name,
      pg_get_statisticsobjdef(s.oid) AS def, ${target} AS target
    FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE ${SYSTEM_SCHEMA}`,
  );
  for (const s of rows) {
    const setTarget = s.target !== null && s.target >= 0
      ? `ALTER STATISTICS ${s.name} SET STATISTICS ${s.target};\n`
      : "";
    context.add(dumpObject({
      key: catalogKey("pg_statistic_ext", s.oid),
      label: `STATISTICS ${s.name}`,
      priority: PRIORITY.statistics,
      sortName: s.name,
      section: "post-data",
      write: () => `${s.def};\n${setTarget}\n`,
    }));
  }
}
