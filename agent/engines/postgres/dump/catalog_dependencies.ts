/**
 * The dependencies the server records (pg_depend), turned into needs
 * between dump objects. Catalog rows that are not objects of their own
 * stand for the object they are part of: whatever is internal to another
 * object (a table's row type and TOAST table, a view's rule, an identity
 * column's sequence, a constraint's index, an array or multirange type, a
 * range type's constructors) resolves to that object, a partition's clone
 * of its parent's trigger or foreign key to the parent's, and extension
 * members to their extension (docs/engines.md section 4).
 *
 * @module
 */
import { catalogKey, type DumpObject } from "./dump_object.ts";

/** One pg_depend row with the catalogs named. */
export interface DependencyRow {
  catalog: string;
  oid: string;
  refCatalog: string;
  refOid: string;
  type: string;
}

/**
 * pg_depend between user objects (OIDs from 16384 up: the system's are
 * pinned or created with the database, never dumped).
 */
export const DEPENDENCY_QUERY = `SELECT c.relname AS catalog, d.objid::text AS oid,
    rc.relname AS "refCatalog", d.refobjid::text AS "refOid", d.deptype AS type
  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.classid
  JOIN pg_catalog.pg_class rc ON rc.oid = d.refclassid
  WHERE d.deptype IN ('n', 'a', 'i', 'e', 'P', 'S') AND d.objid >= 16384 AND d.refobjid >= 16384`;

/** Resolves catalog keys to the dump objects that stand for them. */
export class ObjectResolver {
  readonly #aliases = new Map<string, string>();
  readonly #redirects = new Map<string, string>();

  /** Dependencies on `from` are dependencies on `to`. */
  alias(from: string, to: string): void {
    if (from !== to) this.#aliases.set(from, to);
  }

  /** `from`'s dependency on `on` is one on `instead` (a base type's I/O functions need its shell type). */
  redirect(from: string, on: string, instead: string): void {
    this.#redirects.set(`${from}>${on}`, instead);
  }

  /** What `from` needs when the catalog says it depends on `on` (both resolved). */
  needOf(from: string, on: string): string {
    return this.#redirects.get(`${from}>${on}`) ?? on;
  }

  /** The key `key` stands for, following aliases (internal parts, extension members). */
  resolve(key: string): string {
    for (let hops = 0; hops < 16; hops++) {
      const next = this.#aliases.get(key);
      if (next === undefined) return key;
      key = next;
    }
    return key;
  }
}

/**
 * Adds every recorded dependency between two dump objects to the first's
 * needs, and resolves the needs the kinds gave (an index a constraint made
 * stands for that constraint). Internal ('i'), partition-clone ('P') and
 * extension ('e') rows only make aliases, unless the dependent is a dump
 * object of its own (a kind that writes it says so with an alias in the
 * other direction).
 */
export function applyDependencies(
  rows: readonly DependencyRow[],
  objects: ReadonlyMap<string, DumpObject>,
  resolver: ObjectResolver,
): void {
  // A partition's constraint index is its constraint's part before it is a clone of the parent's.
  for (const types of ["ie", "P"]) {
    for (const row of rows) {
      if (!types.includes(row.type)) continue;
      const part = catalogKey(row.catalog, row.oid);
      if (!objects.has(part) && resolver.resolve(part) === part) {
        resolver.alias(part, catalogKey(row.refCatalog, row.refOid));
      }
    }
  }
  for (const object of objects.values()) {
    for (const need of [...object.needs]) {
      const resolved = resolver.resolve(need);
      if (resolved === need) continue;
      object.needs.delete(need);
      object.needs.add(resolved);
    }
  }
  for (const row of rows) {
    if (row.type === "e") continue;
    const from = resolver.resolve(catalogKey(row.catalog, row.oid));
    const to = resolver.needOf(from, resolver.resolve(catalogKey(row.refCatalog, row.refOid)));
    const object = objects.get(from);
    if (object && from !== to && objects.has(to)) object.needs.add(to);
  }
}
