/**
 * Views and materialized views: each created after what its query reads
 * (the server records that for the view's rule); a materialized view is
 * created WITH NO DATA and refreshed at the very end of the dump, when
 * everything it reads holds its rows. Either moves to post-data when its
 * query needs a constraint (GROUP BY a primary key).
 *
 * @module
 */
import { NOT_EXTENSION_MEMBER, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** Views, materialized views and their refreshes. */
export async function collectViews(context: DumpContext): Promise<void> {
  const rows = await context.q(
    `SELECT c.oid::text AS oid, ${qualifiedName("n.nspname", "c.relname")} AS name,
      c.relkind, pg_get_viewdef(c.oid) AS def, c.relispopulated AS populated, c.reloptions AS options,
      (SELECT amname FROM pg_am WHERE oid = c.relam) AS am
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('v', 'm') AND ${SYSTEM_SCHEMA} AND ${
      NOT_EXTENSION_MEMBER("pg_class", "c.oid")
    }`,
  );
  for (const v of rows) {
    const key = catalogKey("pg_class", v.oid);
    const withOptions = v.options ? ` WITH (${(v.options as string[]).join(", ")})` : "";
    const query = String(v.def).trimEnd().replace(/;$/, "");
    const materialized = v.relkind === "m";
    context.add(dumpObject({
      key,
      label: `${materialized ? "MATERIALIZED VIEW" : "VIEW"} ${v.name}`,
      priority: PRIORITY.table,
      sortName: v.name,
      loopRepair: "postpone",
      write: () =>
        materialized
          ? `CREATE MATERIALIZED VIEW ${v.name}${
            v.am && v.am !== "heap" ? ` USING ${v.am}` : ""
          }${withOptions} AS\n${query}\n  WITH NO DATA;\n\n`
          : `CREATE VIEW ${v.name}${withOptions} AS\n${query};\n\n`,
    }));
    if (materialized && v.populated) {
      context.add(dumpObject({
        key: `refresh:${key}`,
        label: `MATERIALIZED VIEW DATA ${v.name}`,
        priority: PRIORITY.refreshMaterializedView,
        sortName: v.name,
        section: "post-data",
        needs: [key],
        write: () => `REFRESH MATERIALIZED VIEW ${v.name};\n`,
      }));
    }
  }
}
