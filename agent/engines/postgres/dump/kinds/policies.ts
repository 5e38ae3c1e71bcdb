/**
 * Row security policies, after the data.
 *
 * @module
 */
import { ident, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** One object per policy. */
export async function collectPolicies(context: DumpContext): Promise<void> {
  const rows = await context.q(
    `SELECT p.oid::text AS oid, p.polrelid::text AS table_oid, quote_ident(p.polname) AS name,
      ${qualifiedName("n.nspname", "c.relname")} AS tbl, p.polpermissive AS permissive,
      p.polcmd AS cmd, pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
      ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE (SELECT rolname FROM pg_roles WHERE oid = r) END
        FROM unnest(p.polroles) r) AS roles
    FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${SYSTEM_SCHEMA}`,
  );
  const command: Record<string, string> = {
    r: "SELECT",
    a: "INSERT",
    w: "UPDATE",
    d: "DELETE",
    "*": "ALL",
  };
  for (const p of rows) {
    const roles = (p.roles as string[]).map((r) => r === "public" ? "PUBLIC" : ident(r)).join(", ");
    context.add(dumpObject({
      key: catalogKey("pg_policy", p.oid),
      label: `POLICY ${p.name} ON ${p.tbl}`,
      priority: PRIORITY.policy,
      sortName: `${p.tbl} ${p.name}`,
      section: "post-data",
      needs: [catalogKey("pg_class", p.table_oid)],
      write: () =>
        `CREATE POLICY ${p.name} ON ${p.tbl} AS ${p.permissive ? "PERMISSIVE" : "RESTRICTIVE"} ` +
        `FOR ${command[p.cmd]} TO ${roles}` + (p.qual ? ` USING (${p.qual})` : "") +
        (p.with_check ? ` WITH CHECK (${p.with_check})` : "") + ";\n",
    }));
  }
}
