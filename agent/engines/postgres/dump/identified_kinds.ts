/**
 * The kinds of object a statement names by the server's own identity
 * (`pg_identify_object`): `COMMENT ON OPERATOR public.=(integer,integer)`,
 * `ALTER OPERATOR CLASS public.c USING btree OWNER TO ...`. One list of
 * what the dump knows about each - its word in SQL, its schema column,
 * which rows are objects of their own, its owner - for the comments and
 * labels, the owners and the coverage check.
 *
 * @module
 */

/** One such kind; `o` is the catalog's alias in `namespace` and `filter`. */
export interface IdentifiedKind {
  catalog: string;
  /** The word COMMENT ON and ALTER ... OWNER TO take. */
  keyword: string;
  /** Its schema column, for kinds that live in a schema. */
  namespace: string | null;
  /** Which rows are objects the dump writes (SQL, alias `o`). */
  filter: string;
  /**
   * Its owner column, for kinds with an owner and no grants (those with
   * grants, languages, wrappers and servers, have a query of their own).
   */
  ownerOnly: string | null;
}

/** SQL for the current database's OID. */
export const THIS_DATABASE = "(SELECT oid FROM pg_database WHERE datname = current_database())";

const kind = (
  catalog: string,
  keyword: string,
  namespace: string | null,
  ownerOnly: string | null,
  filter = "true",
): IdentifiedKind => ({ catalog, keyword, namespace, filter, ownerOnly });

/** Every kind the dump names by identity. */
export const IDENTIFIED_KINDS: readonly IdentifiedKind[] = [
  // A shell operator (named as a commutator, never defined) is not dumped, as by pg_dump.
  kind("pg_operator", "OPERATOR", "oprnamespace", "oprowner", "o.oprcode <> 0"),
  kind("pg_opclass", "OPERATOR CLASS", "opcnamespace", "opcowner"),
  kind("pg_opfamily", "OPERATOR FAMILY", "opfnamespace", "opfowner"),
  kind("pg_collation", "COLLATION", "collnamespace", "collowner"),
  kind("pg_conversion", "CONVERSION", "connamespace", "conowner"),
  kind("pg_cast", "CAST", null, null),
  kind("pg_language", "LANGUAGE", null, null),
  kind("pg_ts_parser", "TEXT SEARCH PARSER", "prsnamespace", null),
  kind("pg_ts_template", "TEXT SEARCH TEMPLATE", "tmplnamespace", null),
  kind("pg_ts_dict", "TEXT SEARCH DICTIONARY", "dictnamespace", "dictowner"),
  kind("pg_ts_config", "TEXT SEARCH CONFIGURATION", "cfgnamespace", "cfgowner"),
  kind("pg_foreign_data_wrapper", "FOREIGN DATA WRAPPER", null, null),
  kind("pg_foreign_server", "SERVER", null, null),
  kind("pg_statistic_ext", "STATISTICS", "stxnamespace", "stxowner"),
  kind("pg_publication", "PUBLICATION", null, "pubowner"),
  kind("pg_event_trigger", "EVENT TRIGGER", null, "evtowner"),
  kind("pg_am", "ACCESS METHOD", null, null),
  // Only this database's subscriptions; oid, subdbid and subowner are readable by everyone.
  kind("pg_subscription", "SUBSCRIPTION", null, "subowner", `o.subdbid = ${THIS_DATABASE}`),
];
