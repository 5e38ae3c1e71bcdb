/**
 * Comments and security labels on every kind the dump writes: schemas,
 * extensions, tables (plain, partitioned, foreign) and their columns,
 * views, materialized views, composite types' columns, sequences, indexes,
 * types and domains, functions, procedures and aggregates, constraints (on
 * tables and domains), triggers, rules, policies, and the kinds the server
 * names by one identity (operators and their classes and families,
 * collations, conversions, casts, transforms, languages, text search
 * objects, foreign data wrappers and servers, statistics, publications,
 * event triggers, access methods, large objects). Each comes after what
 * it describes, at the end of the dump; one on an object the dump does not
 * write (an extension's) is left to the extension (docs/engines.md
 * section 4).
 *
 * @module
 */
import { ident, literal, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { Row } from "postgres";
import type { DumpContext } from "../dump_context.ts";
import { IDENTIFIED_KINDS } from "../identified_kinds.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** Catalogs whose objects COMMENT ON and SECURITY LABEL name by the server's identity, and their words. */
const IDENTIFIED: Record<string, string> = {
  ...Object.fromEntries(IDENTIFIED_KINDS.map((k) => [k.catalog, k.keyword])),
  pg_largeobject: "LARGE OBJECT",
};

/**
 * Comments (`pg_description`) or labels (`pg_seclabel`), each with
 * `target` (what COMMENT ON and SECURITY LABEL name), `catalog`/`oid` (the
 * object it needs), `text` and a label's `provider`; `d` is the source's alias.
 */
const decorationQuery = (source: string, text: string, provider: string) => `
  SELECT 'pg_class' AS catalog, c.oid::text AS oid, d.objsubid AS sub,
    CASE WHEN d.objsubid > 0 THEN 'COLUMN ' || ${qualifiedName("n.nspname", "c.relname")} || '.' ||
        quote_ident((SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum = d.objsubid))
      ELSE CASE c.relkind WHEN 'v' THEN 'VIEW ' WHEN 'm' THEN 'MATERIALIZED VIEW ' WHEN 'S' THEN 'SEQUENCE '
        WHEN 'i' THEN 'INDEX ' WHEN 'I' THEN 'INDEX ' WHEN 'f' THEN 'FOREIGN TABLE ' ELSE 'TABLE ' END || ${
  qualifiedName("n.nspname", "c.relname")
} END AS target,
    ${text} AS text, ${provider} AS provider
  FROM ${source} d JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE ${SYSTEM_SCHEMA} AND (c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'f') OR (c.relkind = 'c' AND d.objsubid > 0))
  UNION ALL
  SELECT 'pg_namespace', n.oid::text, 0, 'SCHEMA ' || quote_ident(n.nspname), ${text}, ${provider}
  FROM ${source} d JOIN pg_namespace n ON n.oid = d.objoid AND d.classoid = 'pg_namespace'::regclass
  WHERE ${SYSTEM_SCHEMA}
  UNION ALL
  SELECT 'pg_extension', e.oid::text, 0, 'EXTENSION ' || quote_ident(e.extname), ${text}, ${provider}
  FROM ${source} d JOIN pg_extension e ON e.oid = d.objoid AND d.classoid = 'pg_extension'::regclass
  WHERE e.extname <> 'plpgsql'
  UNION ALL
  SELECT 'pg_type', t.oid::text, 0, 'TYPE ' || ${
  qualifiedName("n.nspname", "t.typname")
}, ${text}, ${provider}
  FROM ${source} d JOIN pg_type t ON t.oid = d.objoid AND d.classoid = 'pg_type'::regclass
  JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${SYSTEM_SCHEMA} AND t.typtype IN ('e', 'd', 'c', 'r', 'b', 'm')
    AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  UNION ALL
  SELECT 'pg_proc', p.oid::text, 0,
    CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' || p.oid::regprocedure::text
      WHEN 'a' THEN 'AGGREGATE ' || ${qualifiedName("n.nspname", "p.proname")} || '(' ||
        coalesce(nullif(pg_get_function_identity_arguments(p.oid), ''), '*') || ')'
      ELSE 'FUNCTION ' || p.oid::regprocedure::text END, ${text}, ${provider}
  FROM ${source} d JOIN pg_proc p ON p.oid = d.objoid AND d.classoid = 'pg_proc'::regclass
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${SYSTEM_SCHEMA}
  UNION ALL
  SELECT 'pg_constraint', k.oid::text, 0, 'CONSTRAINT ' || quote_ident(k.conname) || ' ON ' ||
    CASE WHEN k.contypid <> 0 THEN 'DOMAIN ' || k.contypid::regtype::text
      ELSE (SELECT ${
  qualifiedName("cn.nspname", "c.relname")
} FROM pg_class c JOIN pg_namespace cn ON cn.oid = c.relnamespace
        WHERE c.oid = k.conrelid) END, ${text}, ${provider}
  FROM ${source} d JOIN pg_constraint k ON k.oid = d.objoid AND d.classoid = 'pg_constraint'::regclass
  JOIN pg_namespace n ON n.oid = k.connamespace WHERE ${SYSTEM_SCHEMA}
  UNION ALL
  SELECT 'pg_trigger', t.oid::text, 0, 'TRIGGER ' || quote_ident(t.tgname) || ' ON ' || ${
  qualifiedName("n.nspname", "c.relname")
},
    ${text}, ${provider}
  FROM ${source} d JOIN pg_trigger t ON t.oid = d.objoid AND d.classoid = 'pg_trigger'::regclass
  JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${SYSTEM_SCHEMA}
  UNION ALL
  SELECT 'pg_rewrite', r.oid::text, 0, 'RULE ' || quote_ident(r.rulename) || ' ON ' || ${
  qualifiedName("n.nspname", "c.relname")
},
    ${text}, ${provider}
  FROM ${source} d JOIN pg_rewrite r ON r.oid = d.objoid AND d.classoid = 'pg_rewrite'::regclass
  JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE ${SYSTEM_SCHEMA} AND r.rulename <> '_RETURN'
  UNION ALL
  SELECT 'pg_transform', t.oid::text, 0, 'TRANSFORM FOR ' || format_type(t.trftype, NULL) || ' LANGUAGE ' ||
    quote_ident((SELECT lanname FROM pg_language WHERE oid = t.trflang)), ${text}, ${provider}
  FROM ${source} d JOIN pg_transform t ON t.oid = d.objoid AND d.classoid = 'pg_transform'::regclass
  UNION ALL
  SELECT k.catalog, d.objoid::text, 0, k.keyword || ' ' || (pg_identify_object(d.classoid, d.objoid, 0)).identity,
    ${text}, ${provider}
  FROM ${source} d JOIN pg_class k0 ON k0.oid = d.classoid
  JOIN (VALUES ${
  Object.entries(IDENTIFIED).map(([catalog, keyword]) => `('${catalog}', '${keyword}')`).join(", ")
}) k(catalog, keyword) ON k.catalog = k0.relname
  WHERE d.objoid >= 16384 OR k.catalog = 'pg_largeobject' OR EXISTS (SELECT 1 FROM pg_depend x
    WHERE x.classid = d.classoid AND x.objid = d.objoid AND x.deptype = 'e')
  UNION ALL
  SELECT 'pg_policy', p.oid::text, 0, 'POLICY ' || quote_ident(p.polname) || ' ON ' || ${
  qualifiedName("n.nspname", "c.relname")
},
    ${text}, ${provider}
  FROM ${source} d JOIN pg_policy p ON p.oid = d.objoid AND d.classoid = 'pg_policy'::regclass
  JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${SYSTEM_SCHEMA}
`;

/** One object per comment and per security label. */
export async function collectCommentsAndLabels(context: DumpContext): Promise<void> {
  const commented = await extensionMembers(context, "pg_description");
  for (const c of await context.q(decorationQuery("pg_description", "d.description", "NULL"))) {
    // A comment left behind by an object that is gone (DROP SUBSCRIPTION leaves its comment)
    // describes nothing: pg_dump writes none either.
    if (c.target === null) continue;
    c.member = commented.has(catalogKey(c.catalog, c.oid));
    addDecoration(
      context,
      c,
      `COMMENT ON ${c.target}`,
      `COMMENT ON ${c.target} IS ${literal(c.text)};\n`,
    );
  }
  const labels = await context.q(decorationQuery("pg_seclabel", "d.label", "d.provider"));
  const labelled = await extensionMembers(context, "pg_seclabel");
  for (const l of labels) {
    if (l.target === null) continue;
    l.member = labelled.has(catalogKey(l.catalog, l.oid));
    const on = `SECURITY LABEL FOR ${ident(l.provider)} ON ${l.target}`;
    // pg_dump keeps labels on an extension's members (the extension's script sets none).
    addDecoration(context, l, on, `${on} IS ${literal(l.text)};\n`, l.member);
  }
}

/** The catalog keys of extension members that `source` (pg_description, pg_seclabel) decorates. */
async function extensionMembers(context: DumpContext, source: string): Promise<Set<string>> {
  const rows = await context.q(`SELECT x.classid::regclass::text || ':' || x.objid AS key
    FROM pg_depend x JOIN ${source} d ON d.classoid = x.classid AND d.objoid = x.objid
    WHERE x.deptype = 'e'`);
  return new Set(rows.map((m) => m.key));
}

/**
 * A comment or label: post-data, after its object. When that object is
 * not written it is dropped if the object is an extension's member (its
 * extension's business) and fails the dump otherwise (object_coverage.ts).
 */
function addDecoration(
  context: DumpContext,
  row: Row,
  label: string,
  sql: string,
  evenIfNotWritten = false,
): void {
  // Large objects are one object of the dump, all of them.
  const target = row.catalog === "pg_largeobject"
    ? "large objects"
    : catalogKey(row.catalog, row.oid);
  context.add(dumpObject({
    key: `${label}:${row.sub}:${row.provider ?? ""}`,
    label,
    priority: PRIORITY.decoration,
    sortName: label,
    section: "post-data",
    needs: [target],
    decorates: evenIfNotWritten ? undefined : target,
    decoratesExtensionMember: row.member === true,
    write: () => sql,
  }));
}
