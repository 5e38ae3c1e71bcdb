/**
 * Object kinds the plain-SQL dump does not write yet. Rather than leave
 * them out silently, the dump counts the ones the database has and the run
 * log says so (a warning, as pg_dump's users would expect a complete dump).
 *
 * @module
 */
import { type CatalogQuery, NOT_EXTENSION_MEMBER, SYSTEM_SCHEMA } from "./dump/catalog_sql.ts";

/** `[what, query counting user objects of that kind]`; queries use alias n for the schema. */
function checks() {
  return [
    [
      "foreign table(s)",
      `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'f' AND ${SYSTEM_SCHEMA} AND ${
        NOT_EXTENSION_MEMBER("pg_class", "c.oid")
      }`,
    ],
    [
      "user-defined collation(s)",
      `SELECT count(*) FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
        WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_collation", "c.oid")}`,
    ],
    [
      "user-defined operator(s)",
      `SELECT count(*) FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
        WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_operator", "o.oid")}`,
    ],
    [
      "extended statistics object(s)",
      `SELECT count(*) FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
        WHERE ${SYSTEM_SCHEMA}`,
    ],
    [
      "text search configuration(s)",
      `SELECT count(*) FROM pg_ts_config t JOIN pg_namespace n ON n.oid = t.cfgnamespace
        WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_ts_config", "t.oid")}`,
    ],
    [
      "event trigger(s)",
      `SELECT count(*) FROM pg_event_trigger e WHERE ${
        NOT_EXTENSION_MEMBER("pg_event_trigger", "e.oid")
      }`,
    ],
    ["publication(s)", `SELECT count(*) FROM pg_publication`],
    [
      "foreign data wrapper(s)",
      `SELECT count(*) FROM pg_foreign_data_wrapper w WHERE ${
        NOT_EXTENSION_MEMBER("pg_foreign_data_wrapper", "w.oid")
      }`,
    ],
    [
      "foreign server(s)",
      `SELECT count(*) FROM pg_foreign_server s WHERE ${
        NOT_EXTENSION_MEMBER("pg_foreign_server", "s.oid")
      }`,
    ],
    ["user mapping(s)", `SELECT count(*) FROM pg_user_mappings`],
    [
      "user-defined cast(s)",
      `SELECT count(*) FROM pg_cast c WHERE c.oid >= 16384 AND ${
        NOT_EXTENSION_MEMBER("pg_cast", "c.oid")
      }
        -- not the range-to-multirange casts CREATE TYPE ... AS RANGE makes by itself
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_cast'::regclass
          AND d.objid = c.oid AND d.deptype = 'i')`,
    ],
  ] as const;
}

/** One message per kind the database has, e.g. "2 foreign table(s) are not in this dump". */
export async function unsupportedObjects(q: CatalogQuery): Promise<string[]> {
  const messages: string[] = [];
  for (const [what, query] of checks()) {
    const [row] = await q(`SELECT (${query})::int AS n`);
    if (row.n > 0) messages.push(`${row.n} ${what} are not in this dump (not supported yet)`);
  }
  return messages;
}
