/**
 * One object of a PostgreSQL dump as the object graph sees it: what it is
 * (its catalog identity and kind), which section of the dump it belongs
 * to, what it needs created before it, and how it writes itself. The
 * writer collects these from the catalog, sorts them (object_sort.ts) and
 * writes them in that order (docs/engines.md section 4).
 *
 * @module
 */
import type { ByteBuilder } from "../../../bytes/byte_builder.ts";

/** pg_dump's three sections: definitions, data, then what is faster built after the data. */
export type Section = "pre-data" | "data" | "post-data";

/**
 * The order kinds take when nothing else decides (lower first), as pg_dump
 * gives them: dependencies override it, it breaks the ties.
 */
export const PRIORITY = {
  schema: 1,
  language: 2,
  collation: 3,
  transform: 4,
  extension: 5,
  type: 6,
  cast: 7,
  function: 8,
  aggregate: 9,
  accessMethod: 10,
  operator: 11,
  operatorFamily: 12,
  conversion: 13,
  textSearchParser: 14,
  textSearchTemplate: 15,
  textSearchDictionary: 16,
  textSearchConfiguration: 17,
  foreignDataWrapper: 18,
  foreignServer: 19,
  table: 20,
  tableAttach: 21,
  columnDefault: 23,
  preDataBoundary: 25,
  tableData: 26,
  sequenceSet: 27,
  largeObjects: 28,
  postDataBoundary: 29,
  constraint: 30,
  index: 31,
  indexAttach: 32,
  statistics: 33,
  rule: 34,
  trigger: 35,
  foreignKey: 36,
  policy: 37,
  publication: 38,
  publicationTable: 39,
  eventTrigger: 41,
  refreshMaterializedView: 42,
  /** Comments, security labels and grants come right after their object. */
  decoration: 43,
} as const;

/**
 * Writes an object: its statements as text, or appended to `out` by a
 * generator that yields `out.take()` whenever it has grown (data).
 */
export type ObjectWriter = (out: ByteBuilder) => AsyncGenerator<Uint8Array, void> | string;

/** One object of the dump. */
export interface DumpObject {
  /** Its catalog identity, `pg_class:16384`, or a name of our own for what has none (`data:pg_class:16384`). */
  readonly key: string;
  /** What the dump calls it in messages: "TABLE public.items", "FUNCTION public.f(integer)". */
  readonly label: string;
  /** Tie-breaking order of its kind. */
  readonly priority: number;
  /** Its schema and name, to break the remaining ties as pg_dump does. */
  readonly sortName: string;
  section: Section;
  /** Keys of the objects it needs before it. */
  readonly needs: Set<string>;
  /** Its statements; absent for an object that only carries dependencies. */
  write?: ObjectWriter;
  /**
   * For a comment or security label, the object it describes: written
   * only if that object is (one on an extension's member is the extension's).
   */
  readonly decorates?: string;
  /**
   * For a comment or label: the object it describes belongs to an
   * extension, so when the dump does not write that object the decoration
   * is the extension's to make, and leaving it out loses nothing.
   */
  readonly decoratesExtensionMember?: boolean;
  /**
   * What a dependency loop through this object may do to break it (object_sort.ts):
   * `postpone`: it may move to post-data (views, materialized views and
   * functions that need a constraint or index).
   */
  readonly loopRepair?: "postpone";
}

/** A catalog identity as a key: `pg_class:16384`. */
export function catalogKey(catalog: string, oid: number | string): string {
  return `${catalog}:${oid}`;
}

/** Makes an object with no needs yet. */
export function dumpObject(
  fields: Omit<DumpObject, "needs" | "section"> & { section?: Section; needs?: Iterable<string> },
): DumpObject {
  return { ...fields, section: fields.section ?? "pre-data", needs: new Set(fields.needs ?? []) };
}
