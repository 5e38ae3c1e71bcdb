/**
 * Text search parsers, templates, dictionaries and configurations with
 * their token mappings, as pg_dump writes them. A dictionary's options
 * are kept by the server as the text CREATE takes.
 *
 * @module
 */
import {
  functionName,
  NOT_EXTENSION_MEMBER,
  qualifiedName,
  SYSTEM_SCHEMA,
} from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** User objects of one text search catalog; `t` is its alias, `schemaColumn` its namespace. */
function userObjects(catalog: string, schemaColumn: string, nameColumn: string, columns: string) {
  return `SELECT t.oid::text AS oid, ${
    qualifiedName("n.nspname", `t.${nameColumn}`)
  } AS name, ${columns}
    FROM ${catalog} t JOIN pg_namespace n ON n.oid = t.${schemaColumn}
    WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER(catalog, "t.oid")}`;
}

/** Every user text search object. */
export async function collectTextSearch(context: DumpContext): Promise<void> {
  const add = (
    catalog: string,
    what: string,
    priority: number,
    oid: string,
    name: string,
    sql: string,
  ) =>
    context.add(dumpObject({
      key: catalogKey(catalog, oid),
      label: `TEXT SEARCH ${what} ${name}`,
      priority,
      sortName: name,
      write: () => `CREATE TEXT SEARCH ${what} ${name} (\n${sql} );\n\n`,
    }));

  const parsers = await context.q(userObjects(
    "pg_ts_parser",
    "prsnamespace",
    "prsname",
    `${functionName("t.prsstart")} AS start, ${functionName("t.prstoken")} AS gettoken,
      ${functionName("t.prsend")} AS "end", ${functionName("t.prsheadline")} AS headline,
      ${functionName("t.prslextype")} AS lextypes`,
  ));
  for (const p of parsers) {
    const lines = [`    START = ${p.start}`, `    GETTOKEN = ${p.gettoken}`, `    END = ${p.end}`];
    if (p.headline) lines.push(`    HEADLINE = ${p.headline}`);
    lines.push(`    LEXTYPES = ${p.lextypes}`);
    add("pg_ts_parser", "PARSER", PRIORITY.textSearchParser, p.oid, p.name, lines.join(",\n"));
  }

  const templates = await context.q(userObjects(
    "pg_ts_template",
    "tmplnamespace",
    "tmplname",
    `${functionName("t.tmplinit")} AS init, ${functionName("t.tmpllexize")} AS lexize`,
  ));
  for (const t of templates) {
    const lines = [...t.init ? [`    INIT = ${t.init}`] : [], `    LEXIZE = ${t.lexize}`];
    add(
      "pg_ts_template",
      "TEMPLATE",
      PRIORITY.textSearchTemplate,
      t.oid,
      t.name,
      lines.join(",\n"),
    );
  }

  const dictionaries = await context.q(userObjects(
    "pg_ts_dict",
    "dictnamespace",
    "dictname",
    `(SELECT ${qualifiedName("tn.nspname", "tt.tmplname")} FROM pg_ts_template tt
        JOIN pg_namespace tn ON tn.oid = tt.tmplnamespace WHERE tt.oid = t.dicttemplate) AS template,
      t.dictinitoption AS options`,
  ));
  for (const d of dictionaries) {
    const sql = `    TEMPLATE = ${d.template}${d.options ? `,\n    ${d.options}` : ""}`;
    add("pg_ts_dict", "DICTIONARY", PRIORITY.textSearchDictionary, d.oid, d.name, sql);
  }

  const configurations = await context.q(userObjects(
    "pg_ts_config",
    "cfgnamespace",
    "cfgname",
    `(SELECT ${qualifiedName("pn.nspname", "p.prsname")} FROM pg_ts_parser p
        JOIN pg_namespace pn ON pn.oid = p.prsnamespace WHERE p.oid = t.cfgparser) AS parser,
      (SELECT string_agg(E'\\nALTER TEXT SEARCH CONFIGURATION ' || ${
      qualifiedName("n.nspname", "t.cfgname")
    } ||
          E'\\n    ADD MAPPING FOR ' || quote_ident(m.token) || ' WITH ' || m.dictionaries || ';', ''
          ORDER BY m.tokentype)
        FROM (SELECT mm.maptokentype AS tokentype,
            (SELECT alias FROM ts_token_type(t.cfgparser) tt WHERE tt.tokid = mm.maptokentype) AS token,
            string_agg(mm.mapdict::regdictionary::text, ', ' ORDER BY mm.mapseqno) AS dictionaries
          FROM pg_ts_config_map mm WHERE mm.mapcfg = t.oid GROUP BY mm.maptokentype) m) AS mappings`,
  ));
  for (const c of configurations) {
    context.add(dumpObject({
      key: catalogKey("pg_ts_config", c.oid),
      label: `TEXT SEARCH CONFIGURATION ${c.name}`,
      priority: PRIORITY.textSearchConfiguration,
      sortName: c.name,
      write: () =>
        `CREATE TEXT SEARCH CONFIGURATION ${c.name} (\n    PARSER = ${c.parser} );\n${
          c.mappings ?? ""
        }\n\n`,
    }));
  }
}
