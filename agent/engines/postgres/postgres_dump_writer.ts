/**
 * The plain-SQL dump of one PostgreSQL database (docs/agent.md section 5), read
 * inside one `REPEATABLE READ, READ ONLY` transaction, in the order a
 * restore needs: schemas, extensions, types, functions, sequences, tables,
 * data (`COPY ... FROM stdin` blocks from `COPY ... TO STDOUT`), then
 * constraints, indexes, foreign keys, sequence values, views and
 * materialized views in dependency order, triggers, rules, row-level
 * security and comments. DDL comes from the server's own `pg_get_*def`
 * functions where they exist. Ownership and grants are left out (restoring
 * elsewhere as another user must work), as `pg_dump --no-owner --no-acl`.
 *
 * @module
 */
import type { ReservedSql, Row } from "postgres";
import { VERSION } from "../../../decrypt/version.ts";
import { ByteBuilder } from "../../bytes/byte_builder.ts";
import { RowDigest } from "../../manifest/row_digest.ts";
import { ident, literal, NOT_EXTENSION_MEMBER, SYSTEM_SCHEMA } from "./postgres_catalog.ts";
import { checkAllDumped } from "../shared/catalog_check.ts";
import { aggregateQuery, createAggregate } from "./postgres_aggregates.ts";
import { writeLargeObjects } from "./postgres_large_objects.ts";
import { allPrivilegeStatements } from "./postgres_privileges.ts";
import { unsupportedObjects } from "./postgres_unsupported.ts";

/** What the writer needs to know. */
export interface PostgresDumpOptions {
  /** `server_version` as the server reports it. */
  serverVersion: string;
  /** `server_version_num`, for catalog differences between releases. */
  versionNum: number;
  database: string;
  warn: (message: string) => void;
  /** Owners (`ALTER ... OWNER TO`) and grants too. */
  includePrivileges?: boolean;
  /** Yield output in pieces of about this size. */
  chunkBytes?: number;
  /**
   * Per table (`schema.table` as the COPY line names it), the rows' digest
   * for the manifest: each COPY data line, newline included, is one row.
   */
  digests?: Map<string, RowDigest>;
}

interface TableRow extends Row {
  oid: number;
  schema: string;
  name: string;
  relkind: string;
  persistence: string;
  options: string[] | null;
  partbound: string | null;
  partkey: string | null;
  parents: string[] | null;
  rowsecurity: boolean;
  forcerowsecurity: boolean;
}

/** The last line of every complete dump; the completeness check looks for it. */
export const DUMP_COMPLETE = "\n--\n-- PostgreSQL database dump complete\n--\n";

/** The dump's first lines: the header check reads `-- PostgreSQL database dump`. */
export function dumpHeader(serverVersion: string, what: string): string {
  return `--\n-- PostgreSQL database dump\n--\n-- Dumped from database version ${serverVersion}\n` +
    `-- Dumped by backupy-agent ${VERSION}: ${what}\n\n`;
}

/**
 * Everything one database needs after `\connect` to it: session settings,
 * then its objects and data in restore order.
 */
export async function* writeDatabaseBody(
  sql: ReservedSql,
  options: PostgresDumpOptions,
): AsyncGenerator<Uint8Array> {
  const out = new ByteBuilder();
  const chunkBytes = options.chunkBytes ?? 256 * 1024;
  const q = async <T extends Row = Row>(text: string): Promise<T[]> =>
    [...await sql.unsafe(text)] as unknown as T[];
  const line = (text: string) => out.text(`${text}\n`);

  line(
    "SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;\n" +
      "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n" +
      "SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n" +
      "SET xmloption = content;\nSET client_min_messages = warning;\nSET row_security = off;\n",
  );

  // Schemas (public exists in every new database).
  for (
    const { name } of await q(`SELECT n.nspname AS name FROM pg_namespace n WHERE ${SYSTEM_SCHEMA}
      AND ${NOT_EXTENSION_MEMBER("pg_namespace", "n.oid")} ORDER BY 1`)
  ) {
    if (name !== "public") line(`CREATE SCHEMA ${ident(name)};`);
  }

  // Extensions.
  for (
    const e of await q(`SELECT e.extname AS name, n.nspname AS schema FROM pg_extension e
      JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY 1`)
  ) {
    line(`CREATE EXTENSION IF NOT EXISTS ${ident(e.name)} WITH SCHEMA ${ident(e.schema)};`);
  }
  out.text("\n");

  // Types: enums, ranges, domains, then composites (which may use the others).
  for (
    const t of await q(`SELECT n.nspname AS schema, t.typname AS name,
        array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
      WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_type", "t.oid")}
      GROUP BY 1, 2 ORDER BY 1, 2`)
  ) {
    line(
      `CREATE TYPE ${ident(t.schema)}.${ident(t.name)} AS ENUM (${
        (t.labels as string[]).map(literal).join(", ")
      });`,
    );
  }
  for (
    const r of await q(`SELECT n.nspname AS schema, t.typname AS name,
        format_type(r.rngsubtype, NULL) AS subtype,
        CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::regproc::text END AS subdiff
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_range r ON r.rngtypid = t.oid
      WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_type", "t.oid")} ORDER BY 1, 2`)
  ) {
    line(
      `CREATE TYPE ${ident(r.schema)}.${ident(r.name)} AS RANGE (subtype = ${r.subtype}${
        r.subdiff ? `, subtype_diff = ${r.subdiff}` : ""
      });`,
    );
  }
  for (
    const d of await q(`SELECT t.oid, n.nspname AS schema, t.typname AS name,
        format_type(t.typbasetype, t.typtypmod) AS base, t.typnotnull AS notnull, t.typdefault AS def,
        CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation
          THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(c.collname) FROM pg_collation c
                JOIN pg_namespace cn ON cn.oid = c.collnamespace WHERE c.oid = t.typcollation) END AS collation,
        (SELECT array_agg('CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid) ORDER BY c.conname)
          FROM pg_constraint c WHERE c.contypid = t.oid) AS checks
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_type bt ON bt.oid = t.typbasetype
      WHERE t.typtype = 'd' AND ${SYSTEM_SCHEMA} AND ${
      NOT_EXTENSION_MEMBER("pg_type", "t.oid")
    } ORDER BY 2, 3`)
  ) {
    line(
      `CREATE DOMAIN ${ident(d.schema)}.${ident(d.name)} AS ${d.base}` +
        (d.collation ? ` COLLATE ${d.collation}` : "") +
        (d.def !== null ? ` DEFAULT ${d.def}` : "") +
        (d.notnull ? " NOT NULL" : "") + ((d.checks as string[] | null) ?? []).map((c) =>
          ` ${c}`
        ).join("") + ";",
    );
  }
  for (
    const c of await q(`SELECT n.nspname AS schema, t.typname AS name,
        array_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) AS columns
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_class cl ON cl.oid = t.typrelid
      JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE t.typtype = 'c' AND cl.relkind = 'c' AND ${SYSTEM_SCHEMA} AND ${
      NOT_EXTENSION_MEMBER("pg_type", "t.oid")
    }
      GROUP BY 1, 2 ORDER BY 1, 2`)
  ) {
    line(
      `CREATE TYPE ${ident(c.schema)}.${ident(c.name)} AS (${(c.columns as string[]).join(", ")});`,
    );
  }
  out.text("\n");

  // Functions and procedures (bodies are not checked during restore).
  for (
    const f of await q(
      `SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.prokind IN ('f', 'p', 'w') AND ${SYSTEM_SCHEMA} AND ${
        NOT_EXTENSION_MEMBER("pg_proc", "p.oid")
      }
        -- not the constructors CREATE TYPE ... AS RANGE makes by itself
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
          AND d.objid = p.oid AND d.deptype = 'i')
      ORDER BY n.nspname, p.proname, p.oid`,
    )
  ) {
    line(`${String(f.def).trimEnd()};\n`);
  }

  // Aggregates, after the functions they are made of.
  for (
    const a of await q(
      aggregateQuery(),
    )
  ) {
    line(createAggregate(a));
  }

  // Sequences that are not identity columns.
  const sequences = await q(
    `SELECT c.oid, n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type,
        s.seqstart AS start, s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max, s.seqcache AS cache, s.seqcycle AS cycle
      FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
      ORDER BY 2, 3`,
  );
  for (const s of sequences) {
    line(
      `CREATE SEQUENCE ${ident(s.schema)}.${
        ident(s.name)
      } AS ${s.type} START WITH ${s.start} INCREMENT BY ${s.increment} ` +
        `MINVALUE ${s.min} MAXVALUE ${s.max} CACHE ${s.cache}${s.cycle ? " CYCLE" : ""};`,
    );
  }
  out.text("\n");

  // Tables: parents before children (inheritance and partitions).
  const tables = orderParentsFirst(
    await q<TableRow>(
      `SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind, c.relpersistence AS persistence,
        c.reloptions AS options, c.relrowsecurity AS rowsecurity, c.relforcerowsecurity AS forcerowsecurity,
        CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partbound,
        CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
        (SELECT array_agg(quote_ident(pn.nspname) || '.' || quote_ident(p.relname) ORDER BY i.inhseqno)
          FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
          WHERE i.inhrelid = c.oid) AS parents
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND ${SYSTEM_SCHEMA} AND ${
        NOT_EXTENSION_MEMBER("pg_class", "c.oid")
      }
      ORDER BY 2, 3`,
    ),
  );
  const qualified = (t: { schema: string; name: string }) => `${ident(t.schema)}.${ident(t.name)}`;
  // Asked separately from the walk above: what the data section must cover.
  const catalog = (await q(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}`,
  )).map((t) => qualified(t as unknown as { schema: string; name: string }));
  const dumped = new Set<string>();
  const copyColumns = new Map<number, string[]>();

  for (const table of tables) {
    // Lock as pg_dump does: ACCESS SHARE never blocks writers, only DDL; lock_timeout names the table.
    await sql.unsafe(`LOCK TABLE ${qualified(table)} IN ACCESS SHARE MODE`).catch(
      (error: Error) => {
        throw new Error(`cannot lock table ${table.schema}.${table.name}: ${error.message}`);
      },
    );
    const columns = await q(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
        pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity AS identity, a.attgenerated AS generated, a.attislocal AS local,
        CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
          THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co
                JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation
      FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ${table.oid} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    );
    copyColumns.set(table.oid, columns.filter((c) => c.generated === "").map((c) => ident(c.name)));

    const unlogged = table.persistence === "u" ? "UNLOGGED " : "";
    if (table.partbound !== null) {
      const [parent] = table.parents ?? [];
      out.text(
        `CREATE ${unlogged}TABLE ${qualified(table)} PARTITION OF ${parent} ${table.partbound}`,
      );
    } else {
      const definitions = columns.filter((c) => c.local).map((c) => {
        let text = `    ${ident(c.name)} ${c.type}`;
        if (c.collation) text += ` COLLATE ${c.collation}`;
        if (c.generated === "s") text += ` GENERATED ALWAYS AS (${c.def}) STORED`;
        else if (c.identity) {
          text += ` GENERATED ${c.identity === "a" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY`;
        } else if (c.def !== null) text += ` DEFAULT ${c.def}`;
        if (c.notnull) text += " NOT NULL";
        return text;
      });
      out.text(`CREATE ${unlogged}TABLE ${qualified(table)} (\n${definitions.join(",\n")}\n)`);
      if (table.parents) out.text(` INHERITS (${table.parents.join(", ")})`);
    }
    if (table.partkey) out.text(` PARTITION BY ${table.partkey}`);
    if (table.options) out.text(` WITH (${table.options.join(", ")})`);
    out.text(";\n");
    // Inherited columns whose defaults or NOT NULL differ locally.
    for (const c of columns.filter((c) => !c.local && table.partbound === null)) {
      if (c.def !== null && c.generated === "" && !c.identity) {
        line(
          `ALTER TABLE ONLY ${qualified(table)} ALTER COLUMN ${
            ident(c.name)
          } SET DEFAULT ${c.def};`,
        );
      }
    }
    out.text("\n");
  }

  // Data: partitioned parents hold none; COPY TO copies only the table itself.
  for (const table of tables.filter((t) => t.relkind === "r")) {
    const list = copyColumns.get(table.oid)!.join(", ");
    line(`COPY ${qualified(table)} (${list}) FROM stdin;`);
    if (out.length >= chunkBytes) yield out.take();
    const stream = await sql.unsafe(`COPY ${qualified(table)} (${list}) TO STDOUT`).readable();
    let digest: RowDigest | undefined;
    if (options.digests) {
      digest = new RowDigest();
      options.digests.set(qualified(table), digest);
    }
    yield* copyData(stream as unknown as CopyStream, out, chunkBytes, digest);
    resumeAfterCopy(stream);
    line("\\.\n");
    dumped.add(qualified(table));
  }
  checkAllDumped(`database ${options.database}`, catalog, dumped);

  // Large objects: data too, before the constraints.
  yield* writeLargeObjects(sql, out, chunkBytes);
  out.text("\n");

  // Constraints after the data (faster, as pg_dump does); foreign keys last.
  const constraints = await q(
    `SELECT c.conrelid, c.contype AS type, quote_ident(c.conname) AS name, pg_get_constraintdef(c.oid) AS def,
        quote_ident(n.nspname) || '.' || quote_ident(cl.relname) AS tbl, cl.relkind
      FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE c.contype IN ('p', 'u', 'c', 'x', 'f') AND c.conislocal AND ${SYSTEM_SCHEMA}
        AND ${NOT_EXTENSION_MEMBER("pg_class", "cl.oid")}
        ${options.versionNum >= 110000 ? "AND c.conparentid = 0" : ""}
      ORDER BY c.contype = 'f', n.nspname, cl.relname, c.conname`,
  );
  // ONLY, except where the constraint must reach child tables: on a partitioned
  // table (partitions get theirs) and for CHECK (inheritance children have copies).
  const only = (c: Row) => (c.relkind === "p" || c.type === "c" ? "" : "ONLY ");
  for (const c of constraints.filter((c) => c.type !== "f")) {
    line(`ALTER TABLE ${only(c)}${c.tbl} ADD CONSTRAINT ${c.name} ${c.def};`);
  }
  // Indexes that no constraint created, and not those a partitioned parent's index made.
  for (
    const i of await q(`SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE ${SYSTEM_SCHEMA} AND t.relkind IN ('r', 'p', 'm') AND ${
      NOT_EXTENSION_MEMBER("pg_class", "t.oid")
    }
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
        AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
        AND t.relkind <> 'm'
      ORDER BY n.nspname, t.relname, c.relname`)
  ) {
    // An index on a partitioned table reads "ON ONLY"; without ONLY it is built on every partition too.
    line(`${String(i.def).replace(" ON ONLY ", " ON ")};`);
  }
  for (const c of constraints.filter((c) => c.type === "f")) {
    line(`ALTER TABLE ${only(c)}${c.tbl} ADD CONSTRAINT ${c.name} ${c.def};`);
  }
  out.text("\n");

  // Sequence values and ownership; identity sequences too.
  for (const s of sequences) {
    const [value] = await q(
      `SELECT last_value::text AS value, is_called FROM ${ident(s.schema)}.${ident(s.name)}`,
    );
    line(
      `SELECT pg_catalog.setval(${
        literal(`${ident(s.schema)}.${ident(s.name)}`)
      }, ${value.value}, ${value.is_called});`,
    );
  }
  for (
    const o of await q(`SELECT quote_ident(sn.nspname) || '.' || quote_ident(s.relname) AS seq,
        quote_ident(tn.nspname) || '.' || quote_ident(t.relname) AS tbl, quote_ident(a.attname) AS col
      FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
      JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
      WHERE d.deptype = 'a' AND d.classid = 'pg_class'::regclass AND ${
      SYSTEM_SCHEMA.replaceAll("n.", "sn.")
    }`)
  ) {
    line(`ALTER SEQUENCE ${o.seq} OWNED BY ${o.tbl}.${o.col};`);
  }
  for (
    const i of await q(
      `SELECT quote_ident(n.nspname) || '.' || quote_ident(t.relname) AS tbl, a.attname AS col,
        pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(t.relname), a.attname) AS seq
      FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE a.attidentity <> '' AND a.attnum > 0 AND NOT a.attisdropped AND t.relkind IN ('r', 'p') AND ${SYSTEM_SCHEMA}`,
    )
  ) {
    if (!i.seq) continue;
    const [value] = await q(`SELECT last_value::text AS value, is_called FROM ${i.seq}`);
    line(
      `SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(${literal(i.tbl)}, ${
        literal(i.col)
      }), ${value.value}, ${value.is_called});`,
    );
  }
  out.text("\n");
  if (out.length >= chunkBytes) yield out.take();

  // Views and materialized views, each after what it reads.
  const views = await q(
    `SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, c.relkind,
        pg_get_viewdef(c.oid) AS def, c.relispopulated AS populated, c.reloptions AS options,
        (SELECT array_agg(DISTINCT d.refobjid::int) FROM pg_rewrite r JOIN pg_depend d ON d.objid = r.oid AND d.classid = 'pg_rewrite'::regclass
          WHERE r.ev_class = c.oid AND d.refobjid <> c.oid AND d.refclassid = 'pg_class'::regclass) AS uses
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('v', 'm') AND ${SYSTEM_SCHEMA} AND ${
      NOT_EXTENSION_MEMBER("pg_class", "c.oid")
    } ORDER BY 2`,
  );
  const matviews: string[] = [];
  for (const v of orderByUses(views)) {
    const withOptions = v.options ? ` WITH (${(v.options as string[]).join(", ")})` : "";
    if (v.relkind === "v") {
      line(
        `CREATE VIEW ${v.name}${withOptions} AS\n${String(v.def).trimEnd().replace(/;$/, "")};\n`,
      );
    } else {
      line(
        `CREATE MATERIALIZED VIEW ${v.name}${withOptions} AS\n${
          String(v.def).trimEnd().replace(/;$/, "")
        }\n  WITH NO DATA;\n`,
      );
      if (v.populated) matviews.push(v.name);
    }
  }
  // Indexes on materialized views.
  for (
    const i of await q(`SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
      JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE t.relkind = 'm' AND ${SYSTEM_SCHEMA} ORDER BY 1`)
  ) {
    line(`${i.def};`);
  }

  // Triggers (not internal ones, nor the clones partitions inherit), rules, policies.
  for (
    const t of await q(
      `SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND ${SYSTEM_SCHEMA}
      ${
        options.versionNum >= 130000
          ? "AND t.tgparentid = 0"
          : ""
      } ORDER BY n.nspname, c.relname, t.tgname`,
    )
  ) {
    line(`${t.def};`);
  }
  for (
    const r of await q(
      `SELECT pg_get_ruledef(r.oid) AS def FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.rulename <> '_RETURN' AND ${SYSTEM_SCHEMA} ORDER BY 1`,
    )
  ) {
    line(String(r.def));
  }
  for (const table of tables.filter((t) => t.rowsecurity || t.forcerowsecurity)) {
    if (table.rowsecurity) line(`ALTER TABLE ${qualified(table)} ENABLE ROW LEVEL SECURITY;`);
    if (table.forcerowsecurity) line(`ALTER TABLE ${qualified(table)} FORCE ROW LEVEL SECURITY;`);
  }
  for (
    const p of await q(
      `SELECT quote_ident(p.policyname) AS name, quote_ident(p.schemaname) || '.' || quote_ident(p.tablename) AS tbl,
        p.permissive, p.cmd, p.roles, p.qual, p.with_check FROM pg_policies p ORDER BY 2, 1`,
    )
  ) {
    const roles = (p.roles as string[]).map((r) => r === "public" ? "PUBLIC" : ident(r)).join(", ");
    line(
      `CREATE POLICY ${p.name} ON ${p.tbl} AS ${p.permissive} FOR ${p.cmd} TO ${roles}` +
        (p.qual ? ` USING (${p.qual})` : "") +
        (p.with_check ? ` WITH CHECK (${p.with_check})` : "") + ";",
    );
  }

  // Comments on schemas, tables, columns, views, types and functions.
  for (
    const c of await q(
      `SELECT 'TABLE ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS target,
        obj_description(c.oid, 'pg_class') AS text, c.relkind
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${SYSTEM_SCHEMA} AND obj_description(c.oid, 'pg_class') IS NOT NULL
      UNION ALL
      SELECT 'COLUMN ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(a.attname),
        col_description(c.oid, a.attnum), c.relkind
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
      WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${SYSTEM_SCHEMA} AND col_description(c.oid, a.attnum) IS NOT NULL
      UNION ALL
      SELECT 'SCHEMA ' || quote_ident(n.nspname), obj_description(n.oid, 'pg_namespace'), ''
      FROM pg_namespace n WHERE ${SYSTEM_SCHEMA} AND n.nspname <> 'public' AND obj_description(n.oid, 'pg_namespace') IS NOT NULL
      UNION ALL
      SELECT 'TYPE ' || quote_ident(n.nspname) || '.' || quote_ident(t.typname), obj_description(t.oid, 'pg_type'), ''
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE ${SYSTEM_SCHEMA} AND t.typtype IN ('e', 'd', 'c', 'r') AND obj_description(t.oid, 'pg_type') IS NOT NULL
      UNION ALL
      SELECT (CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END) || p.oid::regprocedure::text,
        obj_description(p.oid, 'pg_proc'), ''
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${SYSTEM_SCHEMA} AND obj_description(p.oid, 'pg_proc') IS NOT NULL
      ORDER BY 1`,
    )
  ) {
    const target = String(c.target).replace(
      /^TABLE /,
      c.relkind === "v" ? "VIEW " : c.relkind === "m" ? "MATERIALIZED VIEW " : "TABLE ",
    );
    line(`COMMENT ON ${target} IS ${literal(String(c.text))};`);
  }

  if (options.includePrivileges) {
    out.text("\n");
    for (const statement of await allPrivilegeStatements(q)) {
      line(statement);
    }
  }

  for (const message of await unsupportedObjects(q)) {
    options.warn(`database ${options.database}: ${message}`);
  }

  // Populate materialized views last, when everything they read exists.
  for (const name of matviews) line(`REFRESH MATERIALIZED VIEW ${name};`);

  yield out.take();
}

/** The Node readable postgres.js returns for COPY ... TO STDOUT. */
interface CopyStream {
  on(event: "data", listener: (chunk: Uint8Array) => void): void;
  on(event: "end", listener: () => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  pause(): void;
  resume(): void;
}

/**
 * COPY data appended to `out`, yielded in pieces of `chunkBytes`. postgres.js
 * delivers one chunk per row; taking them as events and yielding per piece
 * (not per row) is what keeps the dump near pg_dump's speed. The stream is
 * paused while a full piece waits, so memory stays bounded.
 */
async function* copyData(
  stream: CopyStream,
  out: ByteBuilder,
  chunkBytes: number,
  digest?: RowDigest,
): AsyncGenerator<Uint8Array> {
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  stream.on("data", (chunk) => {
    // One chunk per row: the server sends each COPY row as its own message.
    digest?.add(chunk);
    out.bytes(chunk);
    if (out.length >= chunkBytes) {
      stream.pause();
      notify();
    }
  });
  stream.on("end", () => {
    ended = true;
    notify();
  });
  stream.on("error", (error) => {
    failure = error;
    notify();
  });
  for (;;) {
    if (failure) throw failure;
    if (out.length >= chunkBytes) {
      yield out.take();
      stream.resume();
      continue;
    }
    if (ended) return;
    await new Promise<void>((resolve) => wake = resolve);
  }
}

/**
 * postgres.js 3.4.9 pauses the socket when a COPY stream's buffer is full
 * and resumes it from the stream's read(); if the COPY ends while paused, no
 * read() ever comes and the connection hangs on the next query (seen in
 * about one dump in three). Calling the stream's read once more after its
 * end resumes the socket; on a socket that is not paused it does nothing.
 */
function resumeAfterCopy(stream: unknown): void {
  (stream as { _read?: (size: number) => void })._read?.(0);
}

/** Tables with their inheritance/partition parents first. */
function orderParentsFirst(tables: TableRow[]): TableRow[] {
  const byName = new Map(tables.map((t) => [`${ident(t.schema)}.${ident(t.name)}`, t]));
  const done = new Set<TableRow>();
  const ordered: TableRow[] = [];
  const visit = (table: TableRow) => {
    if (done.has(table)) return;
    done.add(table);
    for (const parent of table.parents ?? []) {
      const p = byName.get(parent);
      if (p) visit(p);
    }
    ordered.push(table);
  };
  tables.forEach(visit);
  return ordered;
}

/** Views after the views they use (depth-first over pg_depend). */
function orderByUses<T extends Row>(views: T[]): T[] {
  const byOid = new Map(views.map((v) => [Number(v.oid), v]));
  const done = new Set<T>();
  const ordered: T[] = [];
  const visit = (view: T) => {
    if (done.has(view)) return;
    done.add(view);
    for (const oid of (view.uses as number[] | null) ?? []) {
      const used = byOid.get(Number(oid));
      if (used) visit(used);
    }
    ordered.push(view);
  };
  views.forEach(visit);
  return ordered;
}
