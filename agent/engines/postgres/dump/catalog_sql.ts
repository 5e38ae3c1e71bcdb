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
