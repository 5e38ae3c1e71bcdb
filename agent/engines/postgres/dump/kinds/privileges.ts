/**
 * Ownership and grants, for dumps that ask for them (`pg_dump` without
 * `--no-owner --no-acl`): `ALTER ... OWNER TO` for every object the dump
 * creates, and for objects whose access list was changed, a `REVOKE ALL`
 * from PUBLIC and the owner followed by one `GRANT` per entry of the list.
 * Roles are not created: they belong to the cluster, and the restore needs
 * them to exist (as with `pg_dump`).
 *
 * @module
 */
import type { Row } from "postgres";
import {
  type CatalogQuery,
  ident,
  NOT_EXTENSION_MEMBER,
  qualifiedName,
  SYSTEM_SCHEMA,
} from "./dump/catalog_sql.ts";

/**
 * Objects with owner and access list. `kind` is the word ALTER ... OWNER
 * takes, `grantKind` the one GRANT takes, `name` the qualified name (with
 * the argument list for routines).
 */
function objectQuery(): string {
  return `
    SELECT 'SCHEMA' AS kind, 'SCHEMA' AS grant_kind, quote_ident(n.nspname) AS name,
      pg_get_userbyid(n.nspowner) AS owner, n.nspacl::text[] AS acl, 1 AS rank
    FROM pg_namespace n WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_namespace", "n.oid")}
    UNION ALL
    SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
      ${qualifiedName("n.nspname", "c.relname")}, pg_get_userbyid(c.relowner), c.relacl::text[], 2
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND ${SYSTEM_SCHEMA}
      AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      -- identity sequences follow their table
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
      CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
      ${qualifiedName("n.nspname", "p.proname")} || '(' ||
        CASE WHEN p.prokind = 'a' AND p.pronargs = 0 THEN '*' ELSE pg_get_function_identity_arguments(p.oid) END || ')',
      pg_get_userbyid(p.proowner), p.proacl::text[], 3
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_proc", "p.oid")}
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'i')
    UNION ALL
    SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
      ${qualifiedName("n.nspname", "t.typname")}, pg_get_userbyid(t.typowner), t.typacl::text[], 4
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_type", "t.oid")}
      AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
    UNION ALL
    SELECT 'LARGE OBJECT', 'LARGE OBJECT', m.oid::text, pg_get_userbyid(m.lomowner), m.lomacl::text[], 5
    FROM pg_largeobject_metadata m
    ORDER BY rank, name`;
}

/** One ACL item, as `aclitem` prints it: `grantee=privs/grantor`, `*` after a grantable privilege. */
interface AclEntry {
  grantee: string;
  privileges: { name: string; grantable: boolean }[];
}

const PRIVILEGE_LETTERS: Record<string, string> = {
  r: "SELECT",
  w: "UPDATE",
  a: "INSERT",
  d: "DELETE",
  D: "TRUNCATE",
  x: "REFERENCES",
  t: "TRIGGER",
  X: "EXECUTE",
  U: "USAGE",
  C: "CREATE",
  c: "CONNECT",
  T: "TEMPORARY",
  s: "SET",
  A: "ALTER SYSTEM",
  m: "MAINTAIN",
};

/** Reads an `aclitem`'s text; role names may be double-quoted. */
export function parseAclItem(item: string): AclEntry {
  let i = 0;
  const role = (): string => {
    if (item[i] !== '"') {
      const start = i;
      while (i < item.length && item[i] !== "=" && item[i] !== "/") i++;
      return item.slice(start, i);
    }
    let name = "";
    for (i++; i < item.length; i++) {
      if (item[i] === '"') {
        if (item[i + 1] === '"') {
          name += '"';
          i++;
        } else {
          i++;
          break;
        }
      } else name += item[i];
    }
    return name;
  };
  const grantee = role();
  if (item[i] !== "=") throw new Error(`unreadable access list item ${JSON.stringify(item)}`);
  i++;
  const privileges: AclEntry["privileges"] = [];
  for (; i < item.length && item[i] !== "/"; i++) {
    const name = PRIVILEGE_LETTERS[item[i]];
    if (!name) {
      throw new Error(`unknown privilege ${JSON.stringify(item[i])} in ${JSON.stringify(item)}`);
    }
    const grantable = item[i + 1] === "*";
    if (grantable) i++;
    privileges.push({ name, grantable });
  }
  return { grantee, privileges };
}

/** The statements for one object row of the catalog query. */
export function privilegeStatements(o: Row): string[] {
  const owner = ident(String(o.owner));
  const out = [`ALTER ${o.kind} ${o.name} OWNER TO ${owner};`];
  const acl = o.acl as string[] | null;
  if (acl === null) return out;
  const on = `${o.grant_kind} ${o.name}`;
  out.push(`REVOKE ALL ON ${on} FROM PUBLIC;`, `REVOKE ALL ON ${on} FROM ${owner};`);
  for (const item of acl) {
    const entry = parseAclItem(item);
    const to = entry.grantee === "" ? "PUBLIC" : ident(entry.grantee);
    for (const grantable of [false, true]) {
      const names = entry.privileges.filter((p) => p.grantable === grantable).map((p) => p.name);
      if (names.length > 0) {
        out.push(
          `GRANT ${names.join(", ")} ON ${on} TO ${to}${grantable ? " WITH GRANT OPTION" : ""};`,
        );
      }
    }
  }
  return out;
}

/** Every ownership and grant statement of the database. */
export async function allPrivilegeStatements(q: CatalogQuery): Promise<string[]> {
  const rows = await q(objectQuery());
  return rows.flatMap(privilegeStatements);
}
