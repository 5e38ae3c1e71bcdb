/**
 * Foreign data wrappers, foreign servers and user mappings (foreign
 * tables are tables: tables.ts). User mappings are read from the
 * pg_user_mappings view, which any user may read, as pg_dump does; their
 * options show only to those allowed to see them.
 *
 * @module
 */
import {
  functionName,
  ident,
  literal,
  NOT_EXTENSION_MEMBER,
  optionList,
  optionsClause,
} from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** Every user foreign data wrapper, server and user mapping. */
export async function collectForeignData(context: DumpContext): Promise<void> {
  const wrappers = await context.q(`SELECT w.oid::text AS oid, w.fdwname AS name,
      ${functionName("w.fdwhandler")} AS handler, ${functionName("w.fdwvalidator")} AS validator,
      ${optionList("w.fdwoptions")} AS options
    FROM pg_foreign_data_wrapper w WHERE ${
    NOT_EXTENSION_MEMBER("pg_foreign_data_wrapper", "w.oid")
  }`);
  for (const w of wrappers) {
    context.add(dumpObject({
      key: catalogKey("pg_foreign_data_wrapper", w.oid),
      label: `FOREIGN DATA WRAPPER ${w.name}`,
      priority: PRIORITY.foreignDataWrapper,
      sortName: w.name,
      write: () =>
        `CREATE FOREIGN DATA WRAPPER ${ident(w.name)}${w.handler ? ` HANDLER ${w.handler}` : ""}${
          w.validator ? ` VALIDATOR ${w.validator}` : ""
        }${optionsClause(w.options)};\n\n`,
    }));
  }

  const servers = await context.q(`SELECT s.oid::text AS oid, s.srvname AS name, s.srvtype AS type,
      s.srvversion AS version, (SELECT fdwname FROM pg_foreign_data_wrapper WHERE oid = s.srvfdw) AS wrapper,
      ${optionList("s.srvoptions")} AS options
    FROM pg_foreign_server s WHERE ${NOT_EXTENSION_MEMBER("pg_foreign_server", "s.oid")}`);
  for (const s of servers) {
    context.add(dumpObject({
      key: catalogKey("pg_foreign_server", s.oid),
      label: `SERVER ${s.name}`,
      priority: PRIORITY.foreignServer,
      sortName: s.name,
      write: () =>
        `CREATE SERVER ${ident(s.name)}${s.type ? ` TYPE ${literal(s.type)}` : ""}${
          s.version ? ` VERSION ${literal(s.version)}` : ""
        } FOREIGN DATA WRAPPER ${ident(s.wrapper)}${optionsClause(s.options)};\n\n`,
    }));
  }

  const mappings = await context.q(`SELECT m.umid::text AS oid, m.srvid::text AS server_oid,
      m.srvname AS server, m.umuser = 0 AS public, m.usename AS "user", ${
    optionList("m.umoptions")
  } AS options
    FROM pg_user_mappings m`);
  for (const m of mappings) {
    // PUBLIC is a keyword here; quoted it would name a role called "public".
    const user = m.public ? "PUBLIC" : ident(m.user);
    context.add(dumpObject({
      key: catalogKey("pg_user_mapping", m.oid),
      label: `USER MAPPING ${m.user} SERVER ${m.server}`,
      priority: PRIORITY.foreignServer,
      sortName: `${m.server} ${m.user}`,
      needs: [catalogKey("pg_foreign_server", m.server_oid)],
      write: () =>
        `CREATE USER MAPPING FOR ${user} SERVER ${ident(m.server)}${optionsClause(m.options)};\n\n`,
    }));
  }
}
