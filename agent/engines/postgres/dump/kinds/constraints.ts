/**
 * Table constraints, after the data: primary keys, unique and exclusion
 * constraints on every table, partitions included, each with `ONLY` (a
 * partition's own is attached to its parent's index by the index kind, and
 * keeps its name); CHECK constraints that are NOT VALID or call our own
 * functions, where they are defined (without ONLY, so inheritance children
 * get their copies; the others are in CREATE TABLE); foreign keys last, the
 * parent's only on partitioned tables (the server makes the partitions').
 *
 * @module
 */
import { NOT_EXTENSION_MEMBER, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/**
 * Whether CHECK constraint `c` (an alias of pg_constraint) goes into its
 * table's CREATE TABLE, as pg_dump writes them: valid, defined on the table
 * itself, and reading nothing but the table (one that calls a function of
 * ours could need what needs the table, so it is added after the data).
 */
export const INLINE_CHECK = (c: string) =>
  `(${c}.contype = 'c' AND ${c}.conislocal AND ${c}.convalidated AND ${READS_ONLY_ITS_TABLE(c)})`;

/**
 * Whether `c` is a partition's copy of its parent's CHECK that goes into
 * the partition's CREATE TABLE too, as pg_dump writes it: a table must
 * have every CHECK of a parent before `ATTACH PARTITION` takes it.
 */
export const PARTITION_CHECK_COPY = (c: string) =>
  `(${c}.contype = 'c' AND NOT ${c}.conislocal AND ${c}.convalidated AND ${READS_ONLY_ITS_TABLE(c)}
    AND (SELECT relispartition FROM pg_class WHERE oid = ${c}.conrelid))`;

/** Whether constraint `c` depends on nothing of ours but its own table. */
const READS_ONLY_ITS_TABLE = (c: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend x
    WHERE x.classid = 'pg_constraint'::regclass AND x.objid = ${c}.oid AND x.refobjid >= 16384
      AND NOT (x.refclassid = 'pg_class'::regclass AND x.refobjid = ${c}.conrelid))`;

/** Every table constraint that is not made by another, nor written in its CREATE TABLE. */
export async function collectConstraints(context: DumpContext): Promise<void> {
  const rows = await context.q(
    `SELECT c.oid::text AS oid, c.contype AS type, quote_ident(c.conname) AS name,
      pg_get_constraintdef(c.oid) AS def, c.conislocal AS local, cl.relkind, cl.oid::text AS table_oid,
      ${qualifiedName("n.nspname", "cl.relname")} AS tbl,
      ${context.versionNum >= 110000 ? "c.conparentid <> 0" : "false"} AS inherited_fk
    FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
    WHERE c.contype IN ('p', 'u', 'c', 'x', 'f') AND NOT ${INLINE_CHECK("c")}
      AND cl.relkind IN ('r', 'p', 'f') AND ${SYSTEM_SCHEMA}
      AND ${NOT_EXTENSION_MEMBER("pg_class", "cl.oid")}`,
  );
  for (const c of rows) {
    // An inherited CHECK is the parent's copy, made when the parent's is.
    if (c.type === "c" && !c.local) continue;
    if (c.type === "f" && c.inherited_fk) continue;
    const only = c.type === "c" || (c.type === "f" && c.relkind === "p") ? "" : "ONLY ";
    context.add(dumpObject({
      key: catalogKey("pg_constraint", c.oid),
      label: `CONSTRAINT ${c.name} ON ${c.tbl}`,
      priority: c.type === "f" ? PRIORITY.foreignKey : PRIORITY.constraint,
      sortName: `${c.tbl} ${c.name}`,
      section: "post-data",
      needs: [catalogKey("pg_class", c.table_oid)],
      write: () => `ALTER TABLE ${only}${c.tbl} ADD CONSTRAINT ${c.name} ${c.def};\n`,
    }));
  }
}
