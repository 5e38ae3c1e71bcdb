/**
 * Sequences: their definitions (pre-data, with OWNED BY once the owning
 * table exists), and every sequence's value, identity columns' included
 * (data section, as pg_dump's SEQUENCE SET).
 *
 * @module
 */
import { literal, NOT_EXTENSION_MEMBER, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/**
 * The options of sequence `s` (a row with start, increment, min, max, cache,
 * cycle, type); an identity column's takes its type from the column.
 */
export function sequenceOptions(s: Record<string, unknown>, withType = true): string {
  return `${
    withType ? `AS ${s.type} ` : ""
  }START WITH ${s.start} INCREMENT BY ${s.increment} MINVALUE ${s.min} ` +
    `MAXVALUE ${s.max} CACHE ${s.cache}${s.cycle ? " CYCLE" : ""}`;
}

/** The columns of pg_sequence that {@linkcode sequenceOptions} reads, as text (int8 overflows a JS number); alias s. */
export const SEQUENCE_COLUMNS = `format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start,
  s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max, s.seqcache::text AS cache,
  s.seqcycle AS cycle`;

/** Every sequence that is not an identity column's, and every sequence's value. */
export async function collectSequences(context: DumpContext): Promise<void> {
  const rows = await context.q(
    `SELECT c.oid::text AS oid, ${qualifiedName("n.nspname", "c.relname")} AS name,
      c.relpersistence AS persistence, ${SEQUENCE_COLUMNS},
      d.deptype AS owner_type, d.refobjid::text AS table_oid,
      ${qualifiedName("tn.nspname", "t.relname")} || '.' || quote_ident(a.attname) AS owned_by
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    LEFT JOIN pg_class t ON t.oid = d.refobjid LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}`,
  );
  for (const s of rows) {
    const key = catalogKey("pg_class", s.oid);
    const identity = s.owner_type === "i";
    if (!identity) {
      const unlogged = s.persistence === "u" ? "UNLOGGED " : "";
      context.add(dumpObject({
        key,
        label: `SEQUENCE ${s.name}`,
        priority: PRIORITY.table,
        sortName: s.name,
        write: () =>
          `CREATE ${unlogged}SEQUENCE ${s.name} ${sequenceOptions(s)};\n` +
          (s.owned_by ? `ALTER SEQUENCE ${s.name} OWNED BY ${s.owned_by};\n` : ""),
      }));
    }
    context.add(dumpObject({
      key: `value:${key}`,
      label: `SEQUENCE SET ${s.name}`,
      priority: PRIORITY.sequenceSet,
      sortName: s.name,
      section: "data",
      // An identity column's sequence is made by its table.
      needs: [identity ? catalogKey("pg_class", s.table_oid) : key],
      // deno-lint-ignore require-yield
      write: async function* (out) {
        const [value] = await context.q(
          `SELECT last_value::text AS value, is_called FROM ${s.name}`,
        );
        out.text(
          `SELECT pg_catalog.setval(${literal(s.name)}, ${value.value}, ${value.is_called});\n`,
        );
      },
    }));
  }
}
