/**
 * Indexes, after the data: every index no constraint made, on tables and
 * materialized views, partitioned ones `ON ONLY` their table; then each
 * partition's index attached to its parent's (`ALTER INDEX ... ATTACH
 * PARTITION`), so partitions keep their own index names. An index marked
 * for CLUSTER or as the replica identity says so after it is built.
 *
 * @module
 */
import type { Row } from "postgres";
import { NOT_EXTENSION_MEMBER, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** Indexes and index attachments. */
export async function collectIndexes(context: DumpContext): Promise<void> {
  const rows = await context.q(`SELECT i.indexrelid::text AS oid, i.indrelid::text AS table_oid,
      ${qualifiedName("n.nspname", "c.relname")} AS name,
      ${qualifiedName("n.nspname", "t.relname")} AS tbl, pg_get_indexdef(i.indexrelid) AS def,
      i.indisclustered AS clustered, i.indisreplident AS replident,
      (SELECT k.oid::text FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')
        AND k.conrelid = i.indrelid) AS constraint_oid,
      (SELECT h.inhparent::text FROM pg_inherits h WHERE h.inhrelid = i.indexrelid) AS parent_oid,
      c.reloptions AS options
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE t.relkind IN ('r', 'p', 'm') AND ${SYSTEM_SCHEMA} AND ${
    NOT_EXTENSION_MEMBER("pg_class", "t.oid")
  }`);
  // An index a constraint made stands for the constraint.
  const keyOf = (row: Row) =>
    row.constraint_oid
      ? catalogKey("pg_constraint", row.constraint_oid)
      : catalogKey("pg_class", row.oid);
  const byOid = new Map(rows.map((r) => [r.oid as string, r]));
  for (const index of rows) {
    const key = keyOf(index);
    const after =
      (index.clustered ? `ALTER TABLE ${index.tbl} CLUSTER ON ${bareName(index.name)};\n` : "") +
      (index.replident
        ? `ALTER TABLE ONLY ${index.tbl} REPLICA IDENTITY USING INDEX ${bareName(index.name)};\n`
        : "");
    if (!index.constraint_oid) {
      context.add(dumpObject({
        key,
        label: `INDEX ${index.name}`,
        priority: PRIORITY.index,
        sortName: index.name,
        section: "post-data",
        needs: [catalogKey("pg_class", index.table_oid)],
        write: () => `${index.def};\n${after}`,
      }));
    } else if (after) {
      context.add(dumpObject({
        key: `use:${key}`,
        label: `INDEX USE ${index.name}`,
        priority: PRIORITY.index,
        sortName: index.name,
        section: "post-data",
        needs: [key],
        write: () => after,
      }));
    }
    const parent = index.parent_oid ? byOid.get(index.parent_oid) : undefined;
    if (parent) {
      context.add(dumpObject({
        key: `attach:${catalogKey("pg_class", index.oid)}`,
        label: `INDEX ATTACH ${index.name}`,
        priority: PRIORITY.indexAttach,
        sortName: index.name,
        section: "post-data",
        needs: [key, keyOf(parent)],
        write: () => `ALTER INDEX ${parent.name} ATTACH PARTITION ${index.name};\n`,
      }));
    }
  }
}

/** An index's name without its schema (CLUSTER ON and REPLICA IDENTITY take no schema). */
function bareName(qualified: string): string {
  const match = /^(?:"(?:[^"]|"")*"|[^."]+)\.(.*)$/.exec(qualified);
  return match ? match[1] : qualified;
}
