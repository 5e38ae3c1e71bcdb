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
import type { ObjectResolver } from "./catalog_dependencies.ts";
import { catalogKey, type DumpObject } from "./dump_object.ts";

/** One object of the database as the coverage query lists it. */
export interface CatalogObject {
  catalog: string;
  oid: string;
  /** The server's own words for it (`pg_describe_object`). */
  what: string;
}

/** `[catalog, oid column, namespace SQL (alias n) or null, extra filter]` per catalog checked. */
function catalogs(versionNum: number): [string, string, string | null, string][] {
  const namespaced = (catalog: string, column: string, extra = "true") =>
    [catalog, "o.oid", `o.${column}`, extra] as [string, string, string, string];
  const list: [string, string, string | null, string][] = [
    namespaced("pg_namespace", "oid"),
    ["pg_extension", "o.oid", null, "true"],
    // Composite types are checked as types; TOAST tables are the system's.
    namespaced("pg_class", "relnamespace", "o.relkind NOT IN ('c', 't')"),
    namespaced("pg_type", "typnamespace"),
    namespaced("pg_proc", "pronamespace"),
    [
      "pg_attrdef",
      "o.oid",
      "(SELECT relnamespace FROM pg_class WHERE oid = o.adrelid)",
      "true",
    ],
    // NOT NULL constraints (18) are written with their columns; a CHECK a
    // child inherits is made by its parent's.
    namespaced(
      "pg_constraint",
      "connamespace",
      "o.contype <> 'n' AND NOT (o.contype = 'c' AND NOT o.conislocal)",
    ),
    ["pg_trigger", "o.oid", "(SELECT relnamespace FROM pg_class WHERE oid = o.tgrelid)", "true"],
    ["pg_rewrite", "o.oid", "(SELECT relnamespace FROM pg_class WHERE oid = o.ev_class)", "true"],
    ["pg_policy", "o.oid", "(SELECT relnamespace FROM pg_class WHERE oid = o.polrelid)", "true"],
    // A shell operator (named as a commutator, never defined) is not dumped, as by pg_dump.
    namespaced("pg_operator", "oprnamespace", "o.oprcode <> 0"),
    namespaced("pg_opclass", "opcnamespace"),
    namespaced("pg_opfamily", "opfnamespace"),
    namespaced("pg_collation", "collnamespace"),
    namespaced("pg_conversion", "connamespace"),
    namespaced("pg_ts_parser", "prsnamespace"),
    namespaced("pg_ts_template", "tmplnamespace"),
    namespaced("pg_ts_dict", "dictnamespace"),
    namespaced("pg_ts_config", "cfgnamespace"),
    namespaced("pg_statistic_ext", "stxnamespace"),
    ["pg_cast", "o.oid", null, "true"],
    ["pg_transform", "o.oid", null, "true"],
    ["pg_language", "o.oid", null, "true"],
    ["pg_am", "o.oid", null, "true"],
    ["pg_foreign_data_wrapper", "o.oid", null, "true"],
    ["pg_foreign_server", "o.oid", null, "true"],
    ["pg_event_trigger", "o.oid", null, "true"],
    ["pg_publication", "o.oid", null, "true"],
    ["pg_publication_rel", "o.oid", null, "true"],
    // Only this database's subscriptions; oid and subdbid are readable by everyone.
    [
      "pg_subscription",
      "o.oid",
      null,
      "o.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
    ],
  ];
  if (versionNum >= 150000) list.push(["pg_publication_namespace", "o.oid", null, "true"]);
  return list;
}

/** Lists every object of the database the dump must account for (built-in ones excluded). */
export function coverageQuery(versionNum: number): string {
  const parts = catalogs(versionNum).map(([catalog, oid, namespace, extra]) => {
    const schema = namespace === null
      ? ""
      : ` AND EXISTS (SELECT 1 FROM pg_namespace n WHERE n.oid = ${namespace} AND ${SYSTEM_SCHEMA})`;
    return `SELECT '${catalog}' AS catalog, ${oid}::text AS oid,
      pg_describe_object('${catalog}'::regclass, ${oid}, 0) AS what
    FROM ${catalog} o WHERE ${oid} >= 16384 AND ${extra}${schema}`;
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
