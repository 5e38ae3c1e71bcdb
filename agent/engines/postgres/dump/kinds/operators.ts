/**
 * Operators, operator families and operator classes. An operator's
 * commutator or negator may not exist yet when it is created: the server
 * then makes a shell the later CREATE OPERATOR fills in, so pg_dump (and
 * we) leave shells out. A family's members that belong to no class are
 * added to it with ALTER OPERATOR FAMILY; a class lists its own.
 *
 * @module
 */
import type { Row } from "postgres";
import {
  functionName,
  NOT_EXTENSION_MEMBER,
  qualifiedName,
  SYSTEM_SCHEMA,
} from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** SQL naming an operator as `OPERATOR(schema.op)`. */
const OPERATOR_REFERENCE = (oid: string) =>
  `(SELECT 'OPERATOR(' || quote_ident(rn.nspname) || '.' || r.oprname || ')' FROM pg_operator r
    JOIN pg_namespace rn ON rn.oid = r.oprnamespace WHERE r.oid = ${oid})`;

/** Every user operator that is not a shell. */
export async function collectOperators(context: DumpContext): Promise<void> {
  const rows = await context.q(
    `SELECT o.oid::text AS oid, quote_ident(n.nspname) || '.' || o.oprname AS name,
      o.oprkind AS kind, ${functionName("o.oprcode")} AS code,
      CASE WHEN o.oprleft <> 0 THEN format_type(o.oprleft, NULL) END AS lefttype,
      CASE WHEN o.oprright <> 0 THEN format_type(o.oprright, NULL) END AS righttype,
      ${OPERATOR_REFERENCE("o.oprcom")} AS commutator, ${
      OPERATOR_REFERENCE("o.oprnegate")
    } AS negator,
      o.oprcanmerge AS merges, o.oprcanhash AS hashes,
      ${functionName("o.oprrest")} AS restrict, ${functionName("o.oprjoin")} AS join
    FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
    WHERE o.oprcode <> 0 AND ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_operator", "o.oid")}`,
  );
  for (const o of rows) {
    const signature = `${o.name} (${o.lefttype ?? "NONE"}, ${o.righttype ?? "NONE"})`;
    context.add(dumpObject({
      key: catalogKey("pg_operator", o.oid),
      label: `OPERATOR ${signature}`,
      priority: PRIORITY.operator,
      sortName: signature,
      write: () => createOperator(o),
    }));
  }
}

function createOperator(o: Row): string {
  const details = [`    FUNCTION = ${o.code}`];
  if (o.lefttype) details.push(`    LEFTARG = ${o.lefttype}`);
  if (o.righttype) details.push(`    RIGHTARG = ${o.righttype}`);
  if (o.commutator) details.push(`    COMMUTATOR = ${o.commutator}`);
  if (o.negator) details.push(`    NEGATOR = ${o.negator}`);
  if (o.merges) details.push("    MERGES");
  if (o.hashes) details.push("    HASHES");
  if (o.restrict) details.push(`    RESTRICT = ${o.restrict}`);
  if (o.join) details.push(`    JOIN = ${o.join}`);
  return `CREATE OPERATOR ${o.name} (\n${details.join(",\n")}\n);\n\n`;
}

/**
 * The members (pg_amop, pg_amproc) the catalog ties to `owner` (a family
 * or a class) by pg_depend, as the lines of CREATE/ALTER ... AS|ADD.
 */
function membersQuery(ownerCatalog: "pg_opfamily" | "pg_opclass"): string {
  return `SELECT d.refobjid::text AS owner, 'pg_amop' AS catalog, a.oid::text AS oid, 1 AS rank,
      a.amopstrategy AS number, 'OPERATOR ' || a.amopstrategy || ' ' || a.amopopr::regoperator::text ||
        CASE WHEN a.amoppurpose = 'o' THEN ' FOR ORDER BY ' || (SELECT ${
    qualifiedName("sn.nspname", "sf.opfname")
  }
          FROM pg_opfamily sf JOIN pg_namespace sn ON sn.oid = sf.opfnamespace WHERE sf.oid = a.amopsortfamily)
        ELSE '' END AS line
    FROM pg_amop a JOIN pg_depend d ON d.classid = 'pg_amop'::regclass AND d.objid = a.oid
    WHERE d.refclassid = '${ownerCatalog}'::regclass${
    // An ORDER BY operator also depends on its sort family: not a member of that one.
    ownerCatalog === "pg_opfamily" ? " AND a.amopfamily = d.refobjid" : ""}
    UNION ALL
    SELECT d.refobjid::text, 'pg_amproc', p.oid::text, 2, p.amprocnum,
      'FUNCTION ' || p.amprocnum || ' (' || format_type(p.amproclefttype, NULL) || ', ' ||
        format_type(p.amprocrighttype, NULL) || ') ' || p.amproc::regprocedure::text
    FROM pg_amproc p JOIN pg_depend d ON d.classid = 'pg_amproc'::regclass AND d.objid = p.oid
    WHERE d.refclassid = '${ownerCatalog}'::regclass
    ORDER BY 1, 4, 5`;
}

/** Groups member lines by owner OID; each member's needs go to its owner (an alias). */
async function membersByOwner(
  context: DumpContext,
  ownerCatalog: "pg_opfamily" | "pg_opclass",
): Promise<Map<string, string[]>> {
  const members = await context.q(membersQuery(ownerCatalog));
  for (const m of members) {
    context.alias(catalogKey(m.catalog, m.oid), catalogKey(ownerCatalog, m.owner));
  }
  return new Map(
    [...Map.groupBy(members, (m) => m.owner as string)].map((
      [owner, rows],
    ) => [owner, rows.map((m) => m.line)]),
  );
}

/** Every user operator family (with its loose members), then every operator class. */
export async function collectOperatorClasses(context: DumpContext): Promise<void> {
  const looseMembers = await membersByOwner(context, "pg_opfamily");
  const families = await context.q(
    `SELECT f.oid::text AS oid, ${qualifiedName("n.nspname", "f.opfname")} AS name,
      (SELECT quote_ident(amname) FROM pg_am WHERE oid = f.opfmethod) AS am
    FROM pg_opfamily f JOIN pg_namespace n ON n.oid = f.opfnamespace
    WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_opfamily", "f.oid")}`,
  );
  for (const f of families) {
    const members = looseMembers.get(f.oid) ?? [];
    const add = members.length
      ? `ALTER OPERATOR FAMILY ${f.name} USING ${f.am} ADD\n    ${members.join(" ,\n    ")};\n`
      : "";
    context.add(dumpObject({
      key: catalogKey("pg_opfamily", f.oid),
      label: `OPERATOR FAMILY ${f.name} USING ${f.am}`,
      priority: PRIORITY.operatorFamily,
      sortName: f.name,
      write: () => `CREATE OPERATOR FAMILY ${f.name} USING ${f.am};\n${add}\n`,
    }));
  }

  const classMembers = await membersByOwner(context, "pg_opclass");
  const classes = await context.q(
    `SELECT c.oid::text AS oid, ${qualifiedName("n.nspname", "c.opcname")} AS name,
      c.opcdefault AS "default", format_type(c.opcintype, NULL) AS type,
      CASE WHEN c.opckeytype <> 0 THEN format_type(c.opckeytype, NULL) END AS storage,
      (SELECT quote_ident(amname) FROM pg_am WHERE oid = c.opcmethod) AS am,
      (SELECT ${
      qualifiedName("fn.nspname", "f.opfname")
    } FROM pg_opfamily f JOIN pg_namespace fn ON fn.oid = f.opfnamespace
        WHERE f.oid = c.opcfamily) AS family
    FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace
    WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_opclass", "c.oid")}`,
  );
  for (const c of classes) {
    const items = [
      ...(c.storage ? [`STORAGE ${c.storage}`] : []),
      ...classMembers.get(c.oid) ?? [],
    ];
    // A class with nothing to list still needs something after AS; STORAGE of its own type is a no-op.
    if (items.length === 0) items.push(`STORAGE ${c.type}`);
    context.add(dumpObject({
      key: catalogKey("pg_opclass", c.oid),
      label: `OPERATOR CLASS ${c.name} USING ${c.am}`,
      priority: PRIORITY.operatorFamily,
      sortName: c.name,
      write: () =>
        `CREATE OPERATOR CLASS ${c.name}\n    ${
          c.default ? "DEFAULT " : ""
        }FOR TYPE ${c.type} USING ${c.am} FAMILY ${c.family} AS\n    ${
          items.join(" ,\n    ")
        };\n\n`,
    }));
  }
}
