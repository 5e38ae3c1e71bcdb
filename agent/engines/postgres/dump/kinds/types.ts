/**
 * User-defined types: enums, ranges (with the multirange and constructors
 * the server makes for them), domains with their constraints, composite
 * types, and base types with a shell type before their I/O functions, as
 * pg_dump writes them.
 *
 * @module
 */
import { literal, NOT_EXTENSION_MEMBER, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

const USER_TYPE = `${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_type", "t.oid")}`;

function typeObject(context: DumpContext, oid: string, qualified: string, sql: string): void {
  context.add(dumpObject({
    key: catalogKey("pg_type", oid),
    label: `TYPE ${qualified}`,
    priority: PRIORITY.type,
    sortName: qualified,
    write: () => sql,
  }));
}

/** Every user type but table row types. */
export async function collectTypes(context: DumpContext): Promise<void> {
  for (
    const t of await context.q(
      `SELECT t.oid::text AS oid, ${qualifiedName("n.nspname", "t.typname")} AS name,
      array_agg(e.enumlabel ORDER BY e.enumsortorder) FILTER (WHERE e.enumlabel IS NOT NULL) AS labels
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace LEFT JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE t.typtype = 'e' AND ${USER_TYPE} GROUP BY 1, 2`,
    )
  ) {
    const labels = ((t.labels as string[] | null) ?? []).map(literal).join(", ");
    typeObject(context, t.oid, t.name, `CREATE TYPE ${t.name} AS ENUM (${labels});\n`);
  }

  const multirange = context.versionNum >= 140000
    ? `, (SELECT ${qualifiedName("mn.nspname", "m.typname")} FROM pg_type m
        JOIN pg_namespace mn ON mn.oid = m.typnamespace WHERE m.oid = r.rngmultitypid) AS multirange,
        (SELECT m.typname FROM pg_type m WHERE m.oid = r.rngmultitypid) AS multirange_name`
    : "";
  for (
    const r of await context.q(
      `SELECT t.oid::text AS oid, ${qualifiedName("n.nspname", "t.typname")} AS name,
      t.typname, n.nspname, format_type(r.rngsubtype, NULL) AS subtype,
      CASE WHEN r.rngsubopc <> 0 THEN (SELECT quote_ident(on2.nspname) || '.' || quote_ident(o.opcname)
        FROM pg_opclass o JOIN pg_namespace on2 ON on2.oid = o.opcnamespace WHERE o.oid = r.rngsubopc
        AND NOT o.opcdefault) END AS opclass,
      CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> (SELECT typcollation FROM pg_type WHERE oid = r.rngsubtype)
        THEN (SELECT ${qualifiedName("cn.nspname", "c.collname")} FROM pg_collation c
          JOIN pg_namespace cn ON cn.oid = c.collnamespace WHERE c.oid = r.rngcollation) END AS collation,
      CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::regproc::text END AS canonical,
      CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::regproc::text END AS subdiff ${multirange}
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_range r ON r.rngtypid = t.oid
    WHERE ${USER_TYPE}`,
    )
  ) {
    const options = [`subtype = ${r.subtype}`];
    // The multirange's name only when it is not the one the server would choose.
    if (r.multirange && r.multirange_name !== defaultMultirangeName(r.typname)) {
      options.push(`multirange_type_name = ${r.multirange}`);
    }
    if (r.opclass) options.push(`subtype_opclass = ${r.opclass}`);
    if (r.collation) options.push(`collation = ${r.collation}`);
    if (r.canonical) options.push(`canonical = ${r.canonical}`);
    if (r.subdiff) options.push(`subtype_diff = ${r.subdiff}`);
    typeObject(
      context,
      r.oid,
      r.name,
      `CREATE TYPE ${r.name} AS RANGE (\n    ${options.join(",\n    ")}\n);\n`,
    );
  }

  for (
    const d of await context.q(
      `SELECT t.oid::text AS oid, ${qualifiedName("n.nspname", "t.typname")} AS name,
      format_type(t.typbasetype, t.typtypmod) AS base, t.typnotnull AS notnull, t.typdefault AS def,
      CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation
        THEN (SELECT ${qualifiedName("cn.nspname", "c.collname")} FROM pg_collation c
              JOIN pg_namespace cn ON cn.oid = c.collnamespace WHERE c.oid = t.typcollation) END AS collation,
      (SELECT array_agg(c.oid::text ORDER BY c.conname) FROM pg_constraint c WHERE c.contypid = t.oid
        AND c.contype = 'c' AND c.convalidated) AS check_oids,
      (SELECT array_agg('CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid) ORDER BY c.conname)
        FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' AND c.convalidated) AS checks
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_type bt ON bt.oid = t.typbasetype
    WHERE t.typtype = 'd' AND ${USER_TYPE}`,
    )
  ) {
    const key = catalogKey("pg_type", d.oid);
    for (const oid of (d.check_oids as string[] | null) ?? []) {
      context.alias(catalogKey("pg_constraint", oid), key);
    }
    typeObject(
      context,
      d.oid,
      d.name,
      `CREATE DOMAIN ${d.name} AS ${d.base}` + (d.collation ? ` COLLATE ${d.collation}` : "") +
        (d.def !== null ? ` DEFAULT ${d.def}` : "") + (d.notnull ? " NOT NULL" : "") +
        ((d.checks as string[] | null) ?? []).map((c) => `\n    ${c}`).join("") + ";\n",
    );
  }

  for (
    const c of await context.q(
      `SELECT t.oid::text AS oid, ${qualifiedName("n.nspname", "t.typname")} AS name,
      array_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) ||
        CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation THEN ' COLLATE ' ||
          (SELECT ${qualifiedName("cn.nspname", "co.collname")} FROM pg_collation co
            JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) ELSE '' END
        ORDER BY a.attnum) FILTER (WHERE a.attnum IS NOT NULL) AS columns
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_class cl ON cl.oid = t.typrelid
    LEFT JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_type at ON at.oid = a.atttypid
    WHERE t.typtype = 'c' AND cl.relkind = 'c' AND ${USER_TYPE} GROUP BY 1, 2`,
    )
  ) {
    const columns = (c.columns as string[] | null) ?? [];
    typeObject(
      context,
      c.oid,
      c.name,
      `CREATE TYPE ${c.name} AS (${columns.length ? `\n    ${columns.join(",\n    ")}\n` : ""});\n`,
    );
  }

  // A constraint NOT VALID cannot be written in CREATE DOMAIN: it is added after the data.
  for (
    const c of await context.q(
      `SELECT c.oid::text AS oid, c.contypid::text AS domain_oid, quote_ident(c.conname) AS name,
      ${qualifiedName("n.nspname", "t.typname")} AS domain, pg_get_constraintdef(c.oid) AS def
    FROM pg_constraint c JOIN pg_type t ON t.oid = c.contypid JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE c.contype = 'c' AND NOT c.convalidated AND ${USER_TYPE}`,
    )
  ) {
    context.add(dumpObject({
      key: catalogKey("pg_constraint", c.oid),
      label: `CONSTRAINT ${c.name} ON DOMAIN ${c.domain}`,
      priority: PRIORITY.constraint,
      sortName: `${c.domain} ${c.name}`,
      section: "post-data",
      needs: [catalogKey("pg_type", c.domain_oid)],
      write: () => `ALTER DOMAIN ${c.domain} ADD CONSTRAINT ${c.name} ${c.def};\n`,
    }));
  }

  // Shell types nothing defined yet (CREATE TYPE name;).
  for (
    const t of await context.q(
      `SELECT t.oid::text AS oid, ${qualifiedName("n.nspname", "t.typname")} AS name
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype = 'p' AND NOT t.typisdefined AND ${USER_TYPE}`,
    )
  ) {
    typeObject(context, t.oid, t.name, `CREATE TYPE ${t.name};\n`);
  }

  await collectBaseTypes(context);
}

/** The name CREATE TYPE ... AS RANGE gives the multirange by default. */
function defaultMultirangeName(range: string): string {
  const at = range.indexOf("range");
  return at >= 0 ? `${range.slice(0, at)}multirange${range.slice(at + 5)}` : `${range}_multirange`;
}

const ALIGN: Record<string, string> = { c: "char", s: "int2", i: "int4", d: "double" };
const STORAGE: Record<string, string> = { p: "plain", e: "external", x: "extended", m: "main" };

/** Base types (CREATE TYPE name (INPUT = ...)): a shell first, which their I/O functions need. */
async function collectBaseTypes(context: DumpContext): Promise<void> {
  const fn = (column: string) => `CASE WHEN t.${column} <> 0 THEN t.${column}::regproc::text END`;
  const rows = await context.q(
    `SELECT t.oid::text AS oid, ${qualifiedName("n.nspname", "t.typname")} AS name,
      t.typlen AS len, t.typbyval AS byval, t.typalign AS align, t.typstorage AS storage, t.typcategory AS category,
      t.typispreferred AS preferred, t.typdelim AS delim, t.typdefault AS def, t.typcollation <> 0 AS collatable,
      CASE WHEN t.typelem <> 0 AND (SELECT e.typarray FROM pg_type e WHERE e.oid = t.typelem) <> t.oid
        THEN format_type(t.typelem, NULL) END AS element,
      ${fn("typinput")} AS input, ${fn("typoutput")} AS output, ${fn("typreceive")} AS receive,
      ${fn("typsend")} AS send, ${fn("typmodin")} AS modin, ${fn("typmodout")} AS modout,
      ${fn("typanalyze")} AS analyze, ${
      context.versionNum >= 140000 ? fn("typsubscript") : "NULL"
    } AS subscript,
      array_remove(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout, t.typanalyze
        ${
      context.versionNum >= 140000 ? ", t.typsubscript" : ""
    }]::oid[], 0::oid)::text[] AS functions
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype = 'b' AND t.typrelid = 0 AND ${USER_TYPE}
      AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)`,
  );
  for (const t of rows) {
    const key = catalogKey("pg_type", t.oid);
    const shell = `shell:${key}`;
    context.add(dumpObject({
      key: shell,
      label: `SHELL TYPE ${t.name}`,
      priority: PRIORITY.type,
      sortName: t.name,
      write: () => `CREATE TYPE ${t.name};\n`,
    }));
    for (const oid of t.functions as string[]) {
      context.redirect(catalogKey("pg_proc", oid), key, shell);
    }
    const options = [
      `INTERNALLENGTH = ${t.len < 0 ? "variable" : t.len}`,
      `INPUT = ${t.input}`,
      `OUTPUT = ${t.output}`,
    ];
    if (t.receive) options.push(`RECEIVE = ${t.receive}`);
    if (t.send) options.push(`SEND = ${t.send}`);
    if (t.modin) options.push(`TYPMOD_IN = ${t.modin}`);
    if (t.modout) options.push(`TYPMOD_OUT = ${t.modout}`);
    if (t.analyze) options.push(`ANALYZE = ${t.analyze}`);
    if (t.subscript) options.push(`SUBSCRIPT = ${t.subscript}`);
    if (t.def !== null) options.push(`DEFAULT = ${literal(t.def)}`);
    if (t.byval) options.push("PASSEDBYVALUE");
    options.push(`ALIGNMENT = ${ALIGN[t.align]}`, `STORAGE = ${STORAGE[t.storage]}`);
    if (t.category !== "U") options.push(`CATEGORY = ${literal(t.category)}`);
    if (t.preferred) options.push("PREFERRED = true");
    if (t.delim !== ",") options.push(`DELIMITER = ${literal(t.delim)}`);
    if (t.element) options.push(`ELEMENT = ${t.element}`);
    if (t.collatable) options.push("COLLATABLE = true");
    context.add(dumpObject({
      key,
      label: `TYPE ${t.name}`,
      priority: PRIORITY.type,
      sortName: t.name,
      needs: [shell],
      write: () => `CREATE TYPE ${t.name} (\n    ${options.join(",\n    ")}\n);\n`,
    }));
  }
}
