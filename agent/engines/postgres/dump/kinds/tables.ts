/**
 * Tables as pg_dump writes them: every table created on its own (a
 * partition with its own column order, then `ATTACH PARTITION`; a typed
 * table `OF` its type; zero columns allowed), with what the catalog keeps
 * per table and column (access method, UNLOGGED, storage parameters and
 * TOAST's, storage, compression, statistics targets, attribute options,
 * identity sequences with their options, replica identity), column
 * defaults as objects of their own after the table (so a default may use
 * a function that reads the table), row security after the data. A
 * foreign table is a table with a server and options instead of storage.
 *
 * @module
 */
import type { Row } from "postgres";
import {
  ident,
  NOT_EXTENSION_MEMBER,
  optionList,
  optionsClause,
  qualifiedName,
  SYSTEM_SCHEMA,
} from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";
import { SEQUENCE_COLUMNS, sequenceOptions } from "./sequences.ts";
import { INLINE_CHECK, PARTITION_CHECK_COPY } from "./constraints.ts";

/** A table as the kinds after this one need it (data, constraints, indexes). */
export interface TableFacts {
  oid: string;
  /** schema.name, quoted. */
  name: string;
  relkind: string;
  /** Its columns COPY reads and writes (not generated ones), quoted. */
  copyColumns: string[];
}

const STORAGE: Record<string, string> = { p: "PLAIN", e: "EXTERNAL", x: "EXTENDED", m: "MAIN" };
const COMPRESSION: Record<string, string> = { p: "pglz", l: "lz4" };

/** Every user table (plain, partitioned, foreign); returns them for the data and post-data kinds. */
export async function collectTables(context: DumpContext): Promise<TableFacts[]> {
  const v = context.versionNum;
  const tables = await context.q(`SELECT c.oid::text AS oid, n.nspname AS schema, c.relname,
      c.relkind, c.relpersistence AS persistence, c.reloptions AS options, tc.reloptions AS toast_options,
      c.relrowsecurity AS rowsecurity, c.relforcerowsecurity AS forcerowsecurity, c.relreplident AS replident,
      c.relispartition AS ispartition, CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partbound,
      CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
      CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END AS oftype,
      (SELECT amname FROM pg_am WHERE oid = c.relam) AS am,
      (SELECT array_agg(i.inhparent::text ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid) AS parents,
      (SELECT srvname FROM pg_foreign_server WHERE oid = ft.ftserver) AS server,
      ${optionList("ft.ftoptions")} AS foreign_options
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
    LEFT JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
    WHERE c.relkind IN ('r', 'p', 'f') AND ${SYSTEM_SCHEMA} AND ${
    NOT_EXTENSION_MEMBER("pg_class", "c.oid")
  }
    ORDER BY c.oid`);
  // Always quoted, as the COPY lines and the manifest name them.
  for (const table of tables) table.name = `${ident(table.schema)}.${ident(table.relname)}`;
  const columns = await context.q(
    `SELECT a.attrelid::text AS table_oid, a.attnum, quote_ident(a.attname) AS name, a.attname AS raw_name,
      format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, a.attidentity AS identity,
      a.attgenerated AS generated, a.attislocal AS local, ${COLUMN_SETTINGS(v)},
      d.oid::text AS default_oid, pg_get_expr(d.adbin, d.adrelid) AS def,
      CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
        THEN (SELECT ${qualifiedName("cn.nspname", "co.collname")} FROM pg_collation co
              JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation,
      seq.name AS seq_name, seq.persistence AS seq_persistence, to_jsonb(seq) AS seq,
      ${NOT_NULL_COLUMNS(v)}
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    ${v >= 180000 ? NOT_NULL_JOIN : ""}
    LEFT JOIN LATERAL (SELECT ${qualifiedName("sn.nspname", "sc.relname")} AS name,
        sc.relpersistence AS persistence, ${SEQUENCE_COLUMNS}
      FROM pg_depend dep JOIN pg_class sc ON sc.oid = dep.objid JOIN pg_namespace sn ON sn.oid = sc.relnamespace
      JOIN pg_sequence s ON s.seqrelid = sc.oid
      WHERE a.attidentity <> '' AND dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
        AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i') seq ON true
    WHERE c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND ${SYSTEM_SCHEMA}
    ORDER BY a.attrelid, a.attnum`,
  );
  const columnsOf = Map.groupBy(columns, (column) => column.table_oid as string);
  const nameOf = new Map(tables.map((t) => [t.oid as string, t.name as string]));
  const checksOf = new Map<string, string[]>();
  for (
    const c of await context.q(`SELECT c.oid::text AS oid, c.conrelid::text AS table_oid,
      'CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid) AS def
    FROM pg_constraint c WHERE ${INLINE_CHECK("c")} OR ${PARTITION_CHECK_COPY("c")}
    ORDER BY c.conname`)
  ) {
    if (!nameOf.has(c.table_oid)) continue;
    context.alias(catalogKey("pg_constraint", c.oid), catalogKey("pg_class", c.table_oid));
    checksOf.set(c.table_oid, [...checksOf.get(c.table_oid) ?? [], `    ${c.def}`]);
  }

  const facts: TableFacts[] = [];
  for (const table of tables) {
    // Lock as pg_dump does: ACCESS SHARE never blocks writers, only DDL; lock_timeout names the table.
    // (LOCK takes no foreign table, and pg_dump locks none.)
    if (table.relkind !== "f") {
      await context.sql.unsafe(`LOCK TABLE ${table.name} IN ACCESS SHARE MODE`).catch(
        (error: Error) => {
          throw new Error(`cannot lock table ${table.schema}.${table.relname}: ${error.message}`);
        },
      );
    }
    const key = catalogKey("pg_class", table.oid);
    const own = columnsOf.get(table.oid) ?? [];
    const parentColumns = ((table.parents as string[] | null) ?? []).flatMap((p) =>
      columnsOf.get(p) ?? []
    );
    context.add(dumpObject({
      key,
      label: `TABLE ${table.name}`,
      priority: PRIORITY.table,
      sortName: table.name,
      write: () => createTable(table, own, parentColumns, nameOf, checksOf.get(table.oid) ?? []),
    }));
    if (table.ispartition) {
      const parent = (table.parents as string[])[0];
      context.add(dumpObject({
        key: `attach:${key}`,
        label: `TABLE ATTACH ${table.name}`,
        priority: PRIORITY.tableAttach,
        sortName: table.name,
        needs: [key, catalogKey("pg_class", parent)],
        write: () =>
          `ALTER TABLE ONLY ${
            nameOf.get(parent)
          } ATTACH PARTITION ${table.name} ${table.partbound};\n`,
      }));
    }
    for (const column of own) {
      // A NOT VALID one of its own comes after the data; any other (valid, or made by a
      // parent's) is written with its table, so what describes it follows the table.
      if (column.notnull_invalid && column.notnull_local) {
        invalidNotNull(context, table, key, column);
      } else if (column.notnull_oid) {
        context.alias(catalogKey("pg_constraint", column.notnull_oid), key);
      }
      if (column.default_oid === null) continue;
      const defaultKey = catalogKey("pg_attrdef", column.default_oid);
      if (column.generated !== "") {
        context.alias(defaultKey, key);
        continue;
      }
      addColumnDefault(context, table.name, key, column);
    }
    if (table.rowsecurity || table.forcerowsecurity) {
      context.add(dumpObject({
        key: `row security:${key}`,
        label: `ROW SECURITY ${table.name}`,
        priority: PRIORITY.policy,
        sortName: table.name,
        section: "post-data",
        needs: [key],
        write: () =>
          (table.rowsecurity ? `ALTER TABLE ${table.name} ENABLE ROW LEVEL SECURITY;\n` : "") +
          (table.forcerowsecurity ? `ALTER TABLE ${table.name} FORCE ROW LEVEL SECURITY;\n` : ""),
      }));
    }
    facts.push({
      oid: table.oid,
      name: table.name,
      relkind: table.relkind,
      copyColumns: own.filter((c) => c.generated === "").map((c) => c.name),
    });
  }
  return facts;
}

/**
 * PostgreSQL 18 keeps NOT NULL as named constraints (pg_constraint, contype
 * 'n'), which may be NO INHERIT or NOT VALID; before 18 a column is just
 * NOT NULL or not. What the columns query reads of it (docs/engines.md section 4):
 * the constraint's name, and whether it is NO INHERIT, NOT VALID or has a
 * comment (a comment names the constraint, so the name must be kept).
 */
const NOT_NULL_COLUMNS = (v: number) =>
  v >= 180000
    ? `nn.conname AS notnull_name, nn.connoinherit AS notnull_noinherit,
      NOT nn.convalidated AS notnull_invalid, nn.oid::text AS notnull_oid,
      obj_description(nn.oid, 'pg_constraint') IS NOT NULL AS notnull_commented,
      nn.conislocal AS notnull_local`
    : `NULL AS notnull_name, false AS notnull_noinherit, false AS notnull_invalid,
      NULL AS notnull_oid, false AS notnull_commented, NULL AS notnull_local`;
const NOT_NULL_JOIN = `LEFT JOIN pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n'
      AND nn.conkey = ARRAY[a.attnum]`;

/**
 * The name a column's NOT NULL is written with, as pg_dump writes it: only
 * where it is not the one the server would choose for `relname` (raw),
 * `<table>_<column>_not_null`, or a comment needs it; null for none.
 */
function notNullName(c: Row, relname: string): string | null {
  const named = c.notnull_name !== null &&
    (c.notnull_commented || c.notnull_name !== `${relname}_${c.raw_name}_not_null`);
  return named ? c.notnull_name : null;
}

/**
 * A column's NOT NULL in its column definition; none for a NOT VALID one,
 * which is added after the data ({@linkcode invalidNotNull}).
 */
function notNullClause(c: Row, relname: string): string {
  if (!c.notnull || c.notnull_invalid) return "";
  const name = notNullName(c, relname);
  return `${name ? ` CONSTRAINT ${ident(name)}` : ""} NOT NULL${
    c.notnull_noinherit ? " NO INHERIT" : ""
  }`;
}

/** A column's NOT NULL as a table constraint (`[CONSTRAINT name] NOT NULL column`), named `name`. */
function notNullConstraint(c: Row, name: string | null): string {
  return `${name ? `CONSTRAINT ${ident(name)} ` : ""}NOT NULL ${c.name}${
    c.notnull_noinherit ? " NO INHERIT" : ""
  }`;
}

/**
 * Whether a column a parent gives (not written in its table's CREATE
 * TABLE) still needs its NOT NULL there, as a table constraint (PostgreSQL
 * 18): when the child defines it too (its own name wins over the one
 * inheritance would give), or when no parent's is valid (a parent's NOT
 * VALID one comes after the data; the child's valid one must exist first).
 */
function inheritedNotNull(c: Row, parentColumns: Row[]): boolean {
  if (!c.notnull || c.notnull_invalid || c.notnull_oid === null) return false;
  return c.notnull_local ||
    !parentColumns.some((p) => p.name === c.name && p.notnull && !p.notnull_invalid);
}

/** A NOT VALID NOT NULL constraint, added after the data as pg_dump does (rows may break it). */
function invalidNotNull(context: DumpContext, table: Row, tableKey: string, c: Row): void {
  context.add(dumpObject({
    key: catalogKey("pg_constraint", c.notnull_oid),
    label: `CONSTRAINT ${table.name}.${c.notnull_name}`,
    priority: PRIORITY.constraint,
    sortName: `${table.name}.${c.notnull_name}`,
    section: "post-data",
    needs: [tableKey],
    write: () =>
      // Not ONLY: an inheritable NOT NULL must reach the children (whose own, valid ones it joins).
      `ALTER TABLE ${table.name} ADD ${notNullConstraint(c, c.notnull_name)} NOT VALID;\n`,
  }));
}

/** CREATE TABLE and the ALTERs that say what CREATE TABLE cannot. */
function createTable(
  table: Row,
  columns: Row[],
  parentColumns: Row[],
  nameOf: Map<string, string>,
  checks: string[],
): string {
  const unlogged = table.persistence === "u" ? "UNLOGGED " : "";
  // A partition is written whole, then attached; a child of inheritance has only its own columns.
  const written = table.oftype ? [] : columns.filter((c) => table.ispartition || c.local);
  const foreign = table.relkind === "f" ? "FOREIGN " : "";
  let sql = `CREATE ${unlogged}${foreign}TABLE ${table.name}`;
  // A child's column that a parent generates takes the parent's expression (none may be given).
  const definitions = [
    ...written.map((c) =>
      columnDefinition(c, !table.ispartition && generationInherited(c, parentColumns)) +
      notNullClause(c, table.relname)
    ),
    ...columns.filter((c) =>
      !table.oftype && !written.includes(c) && inheritedNotNull(c, parentColumns)
    )
      .map((c) => `    ${notNullConstraint(c, notNullName(c, table.relname))}`),
    ...checks,
  ];
  const list = `(${definitions.length ? `\n${definitions.join(",\n")}\n` : ""})`;
  if (table.oftype) sql += ` OF ${table.oftype}${checks.length ? ` ${list}` : ""}`;
  else sql += ` ${list}`;
  const parents = table.ispartition ? [] : (table.parents as string[] | null) ?? [];
  if (parents.length) sql += `\nINHERITS (${parents.map((p) => nameOf.get(p)).join(", ")})`;
  if (table.partkey) sql += `\nPARTITION BY ${table.partkey}`;
  if (table.am && table.am !== "heap" && table.relkind === "r") sql += `\nUSING ${ident(table.am)}`;
  const options = [
    ...(table.options as string[] | null) ?? [],
    ...((table.toast_options as string[] | null) ?? []).map((o) => `toast.${o}`),
  ];
  if (options.length) sql += `\nWITH (${options.join(", ")})`;
  if (table.server) sql += `\nSERVER ${ident(table.server)}${optionsClause(table.foreign_options)}`;
  sql += ";\n";

  const alter = `ALTER ${foreign}TABLE ONLY ${table.name}`;
  for (const c of columns) {
    const column = `${alter} ALTER COLUMN ${c.name}`;
    const notWritten = !written.includes(c);
    // NOT NULL that neither the CREATE nor a parent gives: before PostgreSQL 18, one no parent
    // has; on 18, a typed table's (the others are in CREATE TABLE, inheritedNotNull), named
    // where it must be.
    const before18 = c.notnull_oid === null;
    const needed = before18
      ? !parentColumns.some((p) => p.name === c.name && p.notnull)
      : Boolean(table.oftype);
    if (c.notnull && !c.notnull_invalid && notWritten && needed) {
      const name = before18 ? null : notNullName(c, table.relname);
      sql += name ? `${alter} ADD ${notNullConstraint(c, name)};\n` : `${column} SET NOT NULL;\n`;
    }
    sql += columnSettings(column, c);
    // An identity sequence's persistence follows its table unless changed since.
    if (c.seq_name && (c.seq_persistence === "u") !== (table.persistence === "u")) {
      sql += `ALTER SEQUENCE ${c.seq_name} SET ${
        c.seq_persistence === "u" ? "UNLOGGED" : "LOGGED"
      };\n`;
    }
  }
  // A foreign table has no replica identity to set (the catalog says NOTHING).
  if (table.replident === "n" && !foreign) sql += `${alter} REPLICA IDENTITY NOTHING;\n`;
  if (table.replident === "f") sql += `${alter} REPLICA IDENTITY FULL;\n`;
  return `${sql}\n`;
}

/**
 * A column's default (`default_oid`, `def`) as an object of its own after
 * its table or view (`relationKey`), so it may call a function that reads
 * the relation.
 */
export function addColumnDefault(
  context: DumpContext,
  relation: string,
  relationKey: string,
  column: Row,
): void {
  context.add(dumpObject({
    key: catalogKey("pg_attrdef", column.default_oid),
    label: `DEFAULT ${relation}.${column.name}`,
    priority: PRIORITY.columnDefault,
    sortName: `${relation}.${column.name}`,
    needs: [relationKey],
    write: () =>
      `ALTER TABLE ONLY ${relation} ALTER COLUMN ${column.name} SET DEFAULT ${column.def};\n`,
  }));
}

/**
 * SQL selecting what columnSettings() reads of a column `a` of type `t`
 * (as pg_attribute and pg_type) on server version `v`.
 */
export const COLUMN_SETTINGS = (v: number) =>
  `a.attstorage AS storage, t.typstorage AS type_storage,
  ${v >= 140000 ? "a.attcompression" : "''"} AS compression, a.attstattarget AS stattarget,
  a.attoptions AS options, ${optionList("a.attfdwoptions")} AS foreign_options`;

/**
 * What CREATE cannot say of a column, as statements starting with
 * `column` (`ALTER TABLE ONLY t ALTER COLUMN c`): statistics target,
 * storage, compression, attribute options, foreign table options.
 */
export function columnSettings(column: string, c: Row): string {
  let sql = "";
  if (c.stattarget !== null && c.stattarget >= 0) {
    sql += `${column} SET STATISTICS ${c.stattarget};\n`;
  }
  if (c.storage !== c.type_storage) sql += `${column} SET STORAGE ${STORAGE[c.storage]};\n`;
  if (c.compression) sql += `${column} SET COMPRESSION ${COMPRESSION[c.compression]};\n`;
  if (c.options) sql += `${column} SET (${(c.options as string[]).join(", ")});\n`;
  if (c.foreign_options) sql += `${column}${optionsClause(c.foreign_options)};\n`;
  return sql;
}

/**
 * Whether a child's generated column takes its expression from its parents
 * (none may then be given: PostgreSQL 15 refuses one): when every parent
 * that generates it has the child's very expression. Where they differ
 * (PostgreSQL 16 on; parents in conflict need the child's own) the child's
 * is written, as pg_dump does.
 */
function generationInherited(c: Row, parentColumns: Row[]): boolean {
  const generating = parentColumns.filter((p) => p.name === c.name && p.generated);
  return generating.length > 0 && generating.every((p) => p.def === c.def);
}

/** One column of CREATE TABLE: type, collation, generation (unless inherited) or identity. */
function columnDefinition(c: Row, generationInherited: boolean): string {
  let text = `    ${c.name} ${c.type}`;
  if (c.collation) text += ` COLLATE ${c.collation}`;
  if (c.generated !== "") {
    // Stored, or (PostgreSQL 18) virtual: computed when read, never in the data.
    const kind = c.generated === "v" ? "VIRTUAL" : "STORED";
    if (!generationInherited) text += ` GENERATED ALWAYS AS (${c.def}) ${kind}`;
  } else if (c.identity && c.seq_name) {
    // Only where the identity has its sequence: a partition's (PostgreSQL 17 on) is its
    // parent's, which it takes when attached (attaching one with its own is refused).
    text += ` GENERATED ${c.identity === "a" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY`;
    text += ` (\n        SEQUENCE NAME ${c.seq_name} ${sequenceOptions(c.seq, false)}\n    )`;
  }
  return text;
}
