/**
 * Nothing left out silently: every object of the database, listed from
 * the catalogs by a query of its own, must be written by the dump, be part
 * of an object it writes (a table's row type, a constraint's index, an
 * array type), or belong to an extension it creates. Anything else fails
 * the backup before a byte is written, naming each object, rather than
 * giving a backup that restores without it (docs/engines.md section 4).
 *
 * @module
 */
import { DumpError } from "../../shared/engine.ts";
import { SYSTEM_SCHEMA } from "./catalog_sql.ts";
import { IDENTIFIED_KINDS } from "./identified_kinds.ts";
import type { ObjectResolver } from "./catalog_dependencies.ts";
import { catalogKey, type DumpObject } from "./dump_object.ts";

/** One object of the database as the coverage query lists it. */
export interface CatalogObject {
  catalog: string;
  oid: string;
  /** The server's own words for it (`pg_describe_object`). */
  what: string;
}

/** A catalog checked: its name, SQL for an object's schema OID (alias `o`) or null, which rows count. */
type Checked = [catalog: string, namespace: string | null, filter: string];

/** Every catalog checked on server version `versionNum`. */
function catalogs(versionNum: number): Checked[] {
  const ofTable = (column: string) => `(SELECT relnamespace FROM pg_class WHERE oid = o.${column})`;
  const list: Checked[] = [
    ["pg_namespace", "o.oid", "true"],
    ["pg_extension", null, "true"],
    // Composite types are checked as types; TOAST tables are the system's.
    ["pg_class", "o.relnamespace", "o.relkind NOT IN ('c', 't')"],
    ["pg_type", "o.typnamespace", "true"],
    ["pg_proc", "o.pronamespace", "true"],
    ["pg_attrdef", ofTable("adrelid"), "true"],
    // NOT NULL constraints (18) are written with their columns; a CHECK a
    // child inherits is made by its parent's.
    [
      "pg_constraint",
      "o.connamespace",
      "o.contype <> 'n' AND NOT (o.contype = 'c' AND NOT o.conislocal)",
    ],
    ["pg_trigger", ofTable("tgrelid"), "true"],
    ["pg_rewrite", ofTable("ev_class"), "true"],
    ["pg_policy", ofTable("polrelid"), "true"],
    ["pg_transform", null, "true"],
    ["pg_publication_rel", null, "true"],
    ...IDENTIFIED_KINDS.map((
      k,
    ): Checked => [k.catalog, k.namespace && `o.${k.namespace}`, k.filter]),
  ];
  if (versionNum >= 150000) list.push(["pg_publication_namespace", null, "true"]);
  return list;
}

/** Lists every object of the database the dump must account for (built-in ones excluded). */
export function coverageQuery(versionNum: number): string {
  const parts = catalogs(versionNum).map(([catalog, namespace, filter]) => {
    const schema = namespace === null
      ? ""
      : ` AND EXISTS (SELECT 1 FROM pg_namespace n WHERE n.oid = ${namespace} AND ${SYSTEM_SCHEMA})`;
    return `SELECT '${catalog}' AS catalog, o.oid::text AS oid,
      pg_describe_object('${catalog}'::regclass, o.oid, 0) AS what
    FROM ${catalog} o WHERE o.oid >= 16384 AND ${filter}${schema}`;
  });
  // User mappings through the view anyone may read.
  parts.push(`SELECT 'pg_user_mapping', m.umid::text,
      'user mapping for ' || m.usename || ' on server ' || m.srvname FROM pg_user_mappings m`);
  return parts.join("\nUNION ALL\n");
}

/** The objects of `listed` that no dump object stands for, in the server's words. */
export function uncoveredObjects(
  listed: readonly CatalogObject[],
  objects: ReadonlyMap<string, DumpObject>,
  resolver: ObjectResolver,
): string[] {
  return listed.filter((o) => !objects.has(resolver.resolve(catalogKey(o.catalog, o.oid))))
    .map((o) => o.what);
}

/**
 * Takes out of `objects` every comment or security label on an object the
 * dump does not write, and returns the ones that would be lost: those not
 * on an extension's member (which its extension makes again).
 */
export function dropOrphanDecorations(
  objects: Map<string, DumpObject>,
  resolver: ObjectResolver,
): string[] {
  const lost: string[] = [];
  for (const [key, object] of objects) {
    if (!object.decorates || objects.has(resolver.resolve(object.decorates))) continue;
    if (!object.decoratesExtensionMember) lost.push(object.label);
    objects.delete(key);
  }
  return lost;
}

/** Fails the dump naming what it would leave out. */
export function checkCoverage(database: string, uncovered: readonly string[]): void {
  if (uncovered.length === 0) return;
  const shown = uncovered.slice(0, 20).join("; ");
  const more = uncovered.length > 20 ? ` and ${uncovered.length - 20} more` : "";
  throw new DumpError(
    `database ${database}: the dump cannot write ${uncovered.length} object(s): ${shown}${more}. ` +
      "A backup without them would not restore the database; back it up with a docker:// target " +
      "(the server's own pg_dump) until the native dump writes them",
  );
}
