/**
 * Casts and transforms the user created: how a value of one type becomes
 * another, and how a type crosses into a procedural language. The casts
 * the server makes by itself (built in, from an extension, range to its
 * multirange) are left out, as pg_dump does.
 *
 * @module
 */
import { ident, NOT_EXTENSION_MEMBER } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

const CONTEXT: Record<string, string> = { a: " AS ASSIGNMENT", i: " AS IMPLICIT", e: "" };

/** Every user cast and transform. */
export async function collectCasts(context: DumpContext): Promise<void> {
  const multirange = context.versionNum >= 140000
    ? `AND NOT EXISTS (SELECT 1 FROM pg_range r WHERE r.rngtypid = c.castsource AND r.rngmultitypid = c.casttarget)`
    : "";
  const casts = await context.q(
    `SELECT c.oid::text AS oid, format_type(c.castsource, NULL) AS source,
      format_type(c.casttarget, NULL) AS target, c.castmethod AS method, c.castcontext AS context,
      CASE WHEN c.castfunc <> 0 THEN c.castfunc::regprocedure::text END AS function
    FROM pg_cast c WHERE c.oid >= 16384 AND ${
      NOT_EXTENSION_MEMBER("pg_cast", "c.oid")
    } ${multirange}`,
  );
  for (const c of casts) {
    const how = c.method === "f"
      ? `WITH FUNCTION ${c.function}`
      : c.method === "i"
      ? "WITH INOUT"
      : "WITHOUT FUNCTION";
    const name = `(${c.source} AS ${c.target})`;
    context.add(dumpObject({
      key: catalogKey("pg_cast", c.oid),
      label: `CAST ${name}`,
      priority: PRIORITY.cast,
      sortName: name,
      write: () => `CREATE CAST ${name} ${how}${CONTEXT[c.context] ?? ""};\n\n`,
    }));
  }

  const transforms = await context.q(
    `SELECT t.oid::text AS oid, format_type(t.trftype, NULL) AS type,
      (SELECT lanname FROM pg_language WHERE oid = t.trflang) AS language,
      CASE WHEN t.trffromsql <> 0 THEN t.trffromsql::regprocedure::text END AS from_sql,
      CASE WHEN t.trftosql <> 0 THEN t.trftosql::regprocedure::text END AS to_sql
    FROM pg_transform t WHERE ${NOT_EXTENSION_MEMBER("pg_transform", "t.oid")}`,
  );
  for (const t of transforms) {
    const ways = [
      ...t.from_sql ? [`FROM SQL WITH FUNCTION ${t.from_sql}`] : [],
      ...t.to_sql ? [`TO SQL WITH FUNCTION ${t.to_sql}`] : [],
    ];
    const name = `FOR ${t.type} LANGUAGE ${ident(t.language)}`;
    context.add(dumpObject({
      key: catalogKey("pg_transform", t.oid),
      label: `TRANSFORM ${name}`,
      priority: PRIORITY.transform,
      sortName: name,
      write: () => `CREATE TRANSFORM ${name} (\n    ${ways.join(",\n    ")}\n);\n\n`,
    }));
  }
}
