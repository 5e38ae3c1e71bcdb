/**
 * Comments on every kind the dump writes: schemas, extensions, tables and
 * their columns, views, materialized views, sequences, indexes, types and
 * domains, functions, procedures and aggregates, constraints (on tables
 * and domains), triggers, rules and policies. Each comes after what it
 * describes, at the end of the dump.
 *
 * @module
 */
import { literal, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** `target` is what COMMENT ON names; `catalog`/`oid` the object it needs. */
const COMMENT_QUERY = `
  SELECT 'pg_class' AS catalog, c.oid::text AS oid, d.objsubid AS sub,
    CASE WHEN d.objsubid > 0 THEN 'COLUMN ' || ${qualifiedName("n.nspname", "c.relname")} || '.' ||
        quote_ident((SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum = d.objsubid))
      ELSE CASE c.relkind WHEN 'v' THEN 'VIEW ' WHEN 'm' THEN 'MATERIALIZED VIEW ' WHEN 'S' THEN 'SEQUENCE '
        WHEN 'i' THEN 'INDEX ' WHEN 'I' THEN 'INDEX ' ELSE 'TABLE ' END || ${
  qualifiedName("n.nspname", "c.relname")
} END AS target,
    d.description AS text
  FROM pg_description d JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE ${SYSTEM_SCHEMA} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I')
  UNION ALL
  SELECT 'pg_namespace', n.oid::text, 0, 'SCHEMA ' || quote_ident(n.nspname), d.description
  FROM pg_description d JOIN pg_namespace n ON n.oid = d.objoid AND d.classoid = 'pg_namespace'::regclass
  WHERE ${SYSTEM_SCHEMA}
  UNION ALL
  SELECT 'pg_extension', e.oid::text, 0, 'EXTENSION ' || quote_ident(e.extname), d.description
  FROM pg_description d JOIN pg_extension e ON e.oid = d.objoid AND d.classoid = 'pg_extension'::regclass
  WHERE e.extname <> 'plpgsql'
  UNION ALL
  SELECT 'pg_type', t.oid::text, 0, 'TYPE ' || ${
  qualifiedName("n.nspname", "t.typname")
}, d.description
  FROM pg_description d JOIN pg_type t ON t.oid = d.objoid AND d.classoid = 'pg_type'::regclass
  JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${SYSTEM_SCHEMA} AND t.typtype IN ('e', 'd', 'c', 'r', 'b', 'm')
    AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  UNION ALL
  SELECT 'pg_proc', p.oid::text, 0,
    CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' || p.oid::regprocedure::text
      WHEN 'a' THEN 'AGGREGATE ' || ${qualifiedName("n.nspname", "p.proname")} || '(' ||
        coalesce(nullif(pg_get_function_identity_arguments(p.oid), ''), '*') || ')'
      ELSE 'FUNCTION ' || p.oid::regprocedure::text END, d.description
  FROM pg_description d JOIN pg_proc p ON p.oid = d.objoid AND d.classoid = 'pg_proc'::regclass
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${SYSTEM_SCHEMA}
  UNION ALL
  SELECT 'pg_constraint', k.oid::text, 0, 'CONSTRAINT ' || quote_ident(k.conname) || ' ON ' ||
    CASE WHEN k.contypid <> 0 THEN 'DOMAIN ' || k.contypid::regtype::text
      ELSE (SELECT ${
  qualifiedName("cn.nspname", "c.relname")
} FROM pg_class c JOIN pg_namespace cn ON cn.oid = c.relnamespace
        WHERE c.oid = k.conrelid) END, d.description
  FROM pg_description d JOIN pg_constraint k ON k.oid = d.objoid AND d.classoid = 'pg_constraint'::regclass
  JOIN pg_namespace n ON n.oid = k.connamespace WHERE ${SYSTEM_SCHEMA}
  UNION ALL
  SELECT 'pg_trigger', t.oid::text, 0, 'TRIGGER ' || quote_ident(t.tgname) || ' ON ' || ${
  qualifiedName("n.nspname", "c.relname")
},
    d.description
  FROM pg_description d JOIN pg_trigger t ON t.oid = d.objoid AND d.classoid = 'pg_trigger'::regclass
  JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${SYSTEM_SCHEMA}
  UNION ALL
  SELECT 'pg_rewrite', r.oid::text, 0, 'RULE ' || quote_ident(r.rulename) || ' ON ' || ${
  qualifiedName("n.nspname", "c.relname")
},
    d.description
  FROM pg_description d JOIN pg_rewrite r ON r.oid = d.objoid AND d.classoid = 'pg_rewrite'::regclass
  JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE ${SYSTEM_SCHEMA} AND r.rulename <> '_RETURN'
  UNION ALL
  SELECT 'pg_policy', p.oid::text, 0, 'POLICY ' || quote_ident(p.polname) || ' ON ' || ${
  qualifiedName("n.nspname", "c.relname")
},
    d.description
  FROM pg_description d JOIN pg_policy p ON p.oid = d.objoid AND d.classoid = 'pg_policy'::regclass
  JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${SYSTEM_SCHEMA}
`;

/** One object per comment. */
export async function collectComments(context: DumpContext): Promise<void> {
  for (const c of await context.q(COMMENT_QUERY)) {
    const target = catalogKey(c.catalog, c.oid);
    context.add(dumpObject({
      key: `comment:${target}:${c.sub}`,
      label: `COMMENT ON ${c.target}`,
      priority: PRIORITY.decoration,
      sortName: c.target,
      section: "post-data",
      needs: [target],
      write: () => `COMMENT ON ${c.target} IS ${literal(c.text)};\n`,
    }));
  }
}
