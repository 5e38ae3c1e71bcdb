/**
 * The plain-SQL dump of one PostgreSQL database (docs/agent.md section 5,
 * docs/engines.md section 4), read inside one `REPEATABLE READ, READ ONLY`
 * transaction: every object of the database collected from the catalog by
 * its kind (dump/kinds/), each with what it needs (the server's pg_depend
 * and what the kinds add), sorted into pg_dump's sections (pre-data, data,
 * post-data) in dependency order (dump/object_sort.ts), then written. DDL
 * comes from the server's own `pg_get_*def` functions where they exist.
 * Ownership and grants only when asked for (restoring elsewhere as another
 * user must work), as `pg_dump --no-owner --no-acl`.
 *
 * @module
 */
import type { ReservedSql, Row } from "postgres";
import { VERSION } from "../../../decrypt/version.ts";
import type { BufferPool } from "../../bytes/buffer_pool.ts";
import { ByteBuilder } from "../../bytes/byte_builder.ts";
import type { RowDigest } from "../../manifest/row_digest.ts";
import { checkAllDumped } from "../shared/catalog_check.ts";
import { ident, NOT_EXTENSION_MEMBER, SYSTEM_SCHEMA } from "./dump/catalog_sql.ts";
import { writeLargeObjects } from "./postgres_large_objects.ts";
import { allPrivilegeStatements } from "./dump/kinds/privileges.ts";
import {
  type CatalogObject,
  checkCoverage,
  coverageQuery,
  dropOrphanDecorations,
  uncoveredObjects,
} from "./dump/object_coverage.ts";
import {
  applyDependencies,
  DEPENDENCY_QUERY,
  type DependencyRow,
  ObjectResolver,
} from "./dump/catalog_dependencies.ts";
import type { CopyTap } from "./dump/copy_tap.ts";
import type { DumpContext } from "./dump/dump_context.ts";
import { type DumpObject, dumpObject, PRIORITY } from "./dump/dump_object.ts";
import { sortObjects } from "./dump/object_sort.ts";
import { collectAccessMethods } from "./dump/kinds/access_methods.ts";
import { collectCasts } from "./dump/kinds/casts.ts";
import { collectCollations } from "./dump/kinds/collations.ts";
import { collectEventTriggers } from "./dump/kinds/event_triggers.ts";
import { collectForeignData } from "./dump/kinds/foreign_data.ts";
import { collectLanguages } from "./dump/kinds/languages.ts";
import { collectOperatorClasses, collectOperators } from "./dump/kinds/operators.ts";
import { collectPublications } from "./dump/kinds/publications.ts";
import { collectStatistics } from "./dump/kinds/statistics.ts";
import { collectSubscriptions } from "./dump/kinds/subscriptions.ts";
import { collectTextSearch } from "./dump/kinds/text_search.ts";
import { collectCommentsAndLabels } from "./dump/kinds/comments_and_labels.ts";
import { collectConstraints } from "./dump/kinds/constraints.ts";
import { collectFunctions } from "./dump/kinds/functions.ts";
import { collectIndexes } from "./dump/kinds/indexes.ts";
import { collectPolicies } from "./dump/kinds/policies.ts";
import { collectRules } from "./dump/kinds/rules.ts";
import { collectExtensions, collectSchemas } from "./dump/kinds/schemas.ts";
import { collectSequences } from "./dump/kinds/sequences.ts";
import { collectTableData } from "./dump/kinds/table_data.ts";
import { collectTables } from "./dump/kinds/tables.ts";
import { collectTriggers } from "./dump/kinds/triggers.ts";
import { collectTypes } from "./dump/kinds/types.ts";
import { collectViews } from "./dump/kinds/views.ts";

/** The size of the pieces the dump is yielded in. */
export const PIECE_BYTES = 256 * 1024;
/** Room for a piece and the socket read that completes it. */
export const PIECE_BUFFER_BYTES = PIECE_BYTES + PIECE_BYTES / 4;

/** What the writer needs to know. */
export interface PostgresDumpOptions {
  /** `server_version` as the server reports it. */
  serverVersion: string;
  /** `server_version_num`, for catalog differences between releases. */
  versionNum: number;
  database: string;
  warn: (message: string) => void;
  /** The tap on the connection's socket, that COPY rows are read with. */
  copyTap: () => CopyTap;
  /** Owners (`ALTER ... OWNER TO`) and grants too. */
  includePrivileges?: boolean;
  /** Buffers of {@linkcode PIECE_BUFFER_BYTES} to build the pieces in, reused once taken back. */
  pieces?: BufferPool;
  /**
   * Per table (`schema.table` as the COPY line names it), the rows' digest
   * for the manifest: each COPY data line, newline included, is one row.
   */
  digests?: Map<string, RowDigest>;
}

/** The last line of every complete dump; the completeness check looks for it. */
export const DUMP_COMPLETE = "\n--\n-- PostgreSQL database dump complete\n--\n";

/** The dump's first lines: the header check reads `-- PostgreSQL database dump`. */
export function dumpHeader(serverVersion: string, what: string): string {
  return `--\n-- PostgreSQL database dump\n--\n-- Dumped from database version ${serverVersion}\n` +
    `-- Dumped by backupy-agent ${VERSION}: ${what}\n\n`;
}

const SESSION_SETTINGS = "SET statement_timeout = 0;\nSET lock_timeout = 0;\n" +
  "SET idle_in_transaction_session_timeout = 0;\nSET client_encoding = 'UTF8';\n" +
  "SET standard_conforming_strings = on;\nSELECT pg_catalog.set_config('search_path', '', false);\n" +
  "SET check_function_bodies = false;\nSET xmloption = content;\nSET client_min_messages = warning;\n" +
  "SET row_security = off;\n\n";

/**
 * Everything one database needs after `\connect` to it: session settings,
 * then its objects and data in restore order.
 */
export async function* writeDatabaseBody(
  sql: ReservedSql,
  options: PostgresDumpOptions,
): AsyncGenerator<Uint8Array> {
  // Room for a piece and the read that completes it: each piece is then handed on without a copy.
  const out = options.pieces
    ? new ByteBuilder(0, options.pieces)
    : new ByteBuilder(PIECE_BUFFER_BYTES);
  const objects = new Map<string, DumpObject>();
  const resolver = new ObjectResolver();
  const context: DumpContext = {
    sql,
    copyTap: options.copyTap,
    versionNum: options.versionNum,
    digests: options.digests,
    includePrivileges: options.includePrivileges ?? false,
    chunkBytes: PIECE_BYTES,
    q: async <T extends Row = Row>(text: string) => [...await sql.unsafe(text)] as unknown as T[],
    add(object) {
      if (objects.has(object.key)) throw new Error(`internal: two dump objects are ${object.key}`);
      objects.set(object.key, object);
    },
    alias: (from, to) => resolver.alias(from, to),
    redirect: (from, on, instead) => resolver.redirect(from, on, instead),
  };

  await collectSchemas(context);
  await collectExtensions(context);
  await collectLanguages(context);
  await collectCollations(context);
  await collectTypes(context);
  await collectCasts(context);
  await collectFunctions(context);
  await collectAccessMethods(context);
  await collectOperators(context);
  await collectOperatorClasses(context);
  await collectTextSearch(context);
  await collectForeignData(context);
  await collectSequences(context);
  const tables = await collectTables(context);
  const dumped = new Set<string>();
  collectTableData(context, tables, dumped);
  context.add(dumpObject({
    key: "large objects",
    label: "LARGE OBJECTS",
    priority: PRIORITY.largeObjects,
    sortName: "",
    section: "data",
    write: async function* (out) {
      yield* writeLargeObjects(sql, out, PIECE_BYTES);
    },
  }));
  await collectConstraints(context);
  await collectIndexes(context);
  await collectViews(context);
  await collectTriggers(context);
  await collectRules(context);
  await collectPolicies(context);
  await collectStatistics(context);
  await collectPublications(context);
  await collectSubscriptions(context);
  await collectEventTriggers(context);
  await collectCommentsAndLabels(context);
  if (context.includePrivileges) {
    const statements = await allPrivilegeStatements(context.q);
    context.add(dumpObject({
      key: "privileges",
      label: "PRIVILEGES",
      priority: PRIORITY.decoration + 1,
      sortName: "",
      section: "post-data",
      write: () => statements.map((s) => `${s}\n`).join(""),
    }));
  }
  // Asked separately from the kinds: what the data section must cover.
  const catalog = (await context.q(`SELECT n.nspname AS schema, c.relname AS name FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}`))
    .map((t) => `${ident(t.schema)}.${ident(t.name)}`);

  applyDependencies(await context.q<DependencyRow>(DEPENDENCY_QUERY), objects, resolver);
  const lostDecorations = dropOrphanDecorations(objects, resolver);
  const listed = await context.q<CatalogObject>(coverageQuery(context.versionNum));
  checkCoverage(options.database, [
    ...uncoveredObjects(listed, objects, resolver),
    ...lostDecorations,
  ]);
  refreshAfterWhatIsRead(objects);

  out.text(SESSION_SETTINGS);
  for (const object of sortObjects([...objects.values()])) {
    if (!object.write) continue;
    const written = object.write(out);
    if (typeof written === "string") out.text(written);
    else yield* written;
    if (out.length >= PIECE_BYTES) yield out.take();
  }
  checkAllDumped(`database ${options.database}`, catalog, dumped);

  yield out.take();
}

/**
 * A materialized view is refreshed after the materialized views its query
 * reads, directly or through views, are refreshed themselves.
 */
function refreshAfterWhatIsRead(objects: Map<string, DumpObject>): void {
  for (const [key, refresh] of objects) {
    if (!key.startsWith("refresh:")) continue;
    const seen = new Set<string>();
    const walk = (from: string) => {
      for (const need of objects.get(from)?.needs ?? []) {
        if (seen.has(need)) continue;
        seen.add(need);
        if (objects.has(`refresh:${need}`)) refresh.needs.add(`refresh:${need}`);
        else if (objects.get(need)?.label.startsWith("VIEW ")) walk(need);
      }
    };
    walk(key.slice("refresh:".length));
  }
}
