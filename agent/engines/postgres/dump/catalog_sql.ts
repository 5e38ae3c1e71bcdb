/**
 * The vocabulary every part of the PostgreSQL dump shares: quoting names
 * and strings, the catalog filters that pick user objects, and the query
 * function the parts read the catalog with.
 *
 * @module
 */
import type { Row } from "postgres";

/** Runs one catalog query inside the dump's snapshot. */
export type CatalogQuery = (text: string) => Promise<Row[]>;

/** A double-quoted identifier (always quoted: valid for every name). */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A single-quoted SQL string literal. */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** SQL for `schema.name`, each part quoted only where it must be (`quote_ident`). */
export function qualifiedName(schema: string, name: string): string {
  return `quote_ident(${schema}) || '.' || quote_ident(${name})`;
}

/** Objects outside the system schemas; the schema's alias is `n`. */
export const SYSTEM_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'`;

/** Objects that belong to an extension are created by CREATE EXTENSION. */
export const NOT_EXTENSION_MEMBER = (classId: string, oid: string): string =>
  `NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '${classId}'::regclass AND x.objid = ${oid} AND x.deptype = 'e')`;

/**
 * SQL for a function's qualified name without its arguments (NULL for
 * none): what CREATE OPERATOR, text search objects and conversions take,
 * the server finding the function by the argument types it expects.
 */
export function functionName(oid: string): string {
  return `(SELECT quote_ident(fn.nspname) || '.' || quote_ident(fp.proname) FROM pg_proc fp
    JOIN pg_namespace fn ON fn.oid = fp.pronamespace WHERE fp.oid = ${oid})`;
}

/**
 * SQL for an `OPTIONS (...)` list's inside from a `text[]` of `name=value`
 * (foreign data wrappers, servers, user mappings, foreign tables and their
 * columns), in the order the catalog keeps; empty for none.
 */
export function optionList(options: string): string {
  return `array_to_string(ARRAY(SELECT quote_ident(option_name) || ' ' || quote_literal(option_value)
    FROM pg_options_to_table(${options})), E',\\n    ')`;
}

/** ` OPTIONS (\n    a 'b'\n)` for a non-empty list from optionList(), else nothing. */
export function optionsClause(list: string | null): string {
  return list ? ` OPTIONS (\n    ${list}\n)` : "";
}

/**
 * The ALTER TABLE words that set a trigger's or rule's firing state
 * (`tgenabled`, `ev_enabled`) other than the default 'O' (on origin and
 * local sessions): disabled, always, on replicas only.
 */
export const FIRING_STATE: Readonly<Record<string, string>> = {
  D: "DISABLE",
  A: "ENABLE ALWAYS",
  R: "ENABLE REPLICA",
};
