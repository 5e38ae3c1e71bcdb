/**
 * Ownership and grants, for dumps that ask for them (`pg_dump` without
 * `--no-owner --no-acl`): `ALTER ... OWNER TO` for every object the dump
 * creates; for objects whose access list was changed, a `REVOKE ALL` from
 * PUBLIC and the owner followed by one `GRANT` per entry of the list;
 * column grants; default privileges; and on the objects the dump does not
 * create (the system's, an extension's) the changes since they were made,
 * against what `pg_init_privs` recorded then. Roles are not created: they
 * belong to the cluster, and the restore needs them to exist (as with
 * `pg_dump`).
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
} from "../catalog_sql.ts";
import { IDENTIFIED_KINDS } from "../identified_kinds.ts";

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
    SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
        WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
      ${qualifiedName("n.nspname", "c.relname")}, pg_get_userbyid(c.relowner), c.relacl::text[], 2
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${SYSTEM_SCHEMA}
      AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      -- identity sequences follow their table (the relation itself is the part: PostgreSQL 18
      -- also records a partitioned table's key columns as internal parts of their own table)
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
        AND d.objsubid = 0 AND d.deptype = 'i')
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
      -- base and shell types too, but not the parts of others (array types, multiranges)
      AND (t.typtype IN ('e', 'd', 'r', 'b', 'p') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
        AND d.objsubid = 0 AND d.deptype = 'i')
    UNION ALL
    SELECT 'LARGE OBJECT', 'LARGE OBJECT', m.oid::text, pg_get_userbyid(m.lomowner), m.lomacl::text[], 5
    FROM pg_largeobject_metadata m
    UNION ALL
    SELECT 'LANGUAGE', 'LANGUAGE', quote_ident(l.lanname), pg_get_userbyid(l.lanowner), l.lanacl::text[], 6
    FROM pg_language l WHERE l.oid >= 16384 AND ${NOT_EXTENSION_MEMBER("pg_language", "l.oid")}
    UNION ALL
    SELECT 'FOREIGN DATA WRAPPER', 'FOREIGN DATA WRAPPER', quote_ident(w.fdwname), pg_get_userbyid(w.fdwowner),
      w.fdwacl::text[], 7
    FROM pg_foreign_data_wrapper w WHERE ${NOT_EXTENSION_MEMBER("pg_foreign_data_wrapper", "w.oid")}
    UNION ALL
    SELECT 'SERVER', 'FOREIGN SERVER', quote_ident(s.srvname), pg_get_userbyid(s.srvowner), s.srvacl::text[], 8
    FROM pg_foreign_server s WHERE ${NOT_EXTENSION_MEMBER("pg_foreign_server", "s.oid")}
    UNION ALL
    ${
    IDENTIFIED_KINDS.filter((k) => k.ownerOnly).map((
      { catalog, keyword, ownerOnly, namespace, filter },
    ) => `
    SELECT '${keyword}', NULL, (pg_identify_object('${catalog}'::regclass, o.oid, 0)).identity,
      pg_get_userbyid(o.${ownerOnly}), NULL, 9
    FROM ${catalog} o ${namespace ? `JOIN pg_namespace n ON n.oid = o.${namespace}` : ""}
    WHERE o.oid >= 16384 AND ${namespace ? SYSTEM_SCHEMA : "true"} AND ${filter}
      AND ${NOT_EXTENSION_MEMBER(catalog, "o.oid")}`).join("\n    UNION ALL")
  }
    ORDER BY rank, name`;
}

/** Columns with grants of their own, on the relations the dump creates. */
const COLUMN_QUERY = `SELECT ${qualifiedName("n.nspname", "c.relname")} AS name,
    quote_ident(a.attname) AS column, a.attacl::text[] AS acl
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped AND ${SYSTEM_SCHEMA}
    AND ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
  ORDER BY 1, a.attnum`;

/** The words ALTER DEFAULT PRIVILEGES uses for each kind of pg_default_acl. */
const DEFAULT_KINDS: Record<string, string> = {
  r: "TABLES",
  S: "SEQUENCES",
  f: "FUNCTIONS",
  T: "TYPES",
  n: "SCHEMAS",
};

/**
 * Default privileges: a role-wide entry replaces the built-in default (so
 * it is compared with acldefault()), one for a schema adds to it.
 */
const DEFAULT_ACL_QUERY = `SELECT pg_get_userbyid(d.defaclrole) AS role, d.defaclobjtype AS type,
    CASE WHEN d.defaclnamespace <> 0 THEN (SELECT quote_ident(nspname) FROM pg_namespace WHERE oid = d.defaclnamespace) END
      AS schema,
    d.defaclacl::text[] AS acl,
    CASE WHEN d.defaclnamespace = 0 THEN acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's'::"char" ELSE d.defaclobjtype END,
      d.defaclrole)::text[] ELSE '{}' END AS base
  FROM pg_default_acl d ORDER BY 1, 2, 3`;

/**
 * Objects the dump does not create whose grants changed since they were
 * made: the system's (against \`pg_init_privs\`, or the built-in default
 * where it recorded nothing) and an extension's members (against what the
 * extension's script left, which \`pg_init_privs\` recorded).
 */
const CHANGED_QUERY =
  `WITH init AS (SELECT objoid, classoid, objsubid, initprivs FROM pg_init_privs)
  SELECT 'TABLE' AS grant_kind, ${qualifiedName("n.nspname", "c.relname")} AS name, NULL AS column,
    c.relacl::text[] AS acl,
    coalesce(i.initprivs, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))::text[] AS base
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN init i ON i.objoid = c.oid AND i.classoid = 'pg_class'::regclass AND i.objsubid = 0
  WHERE c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND (n.nspname IN ('pg_catalog', 'information_schema') OR NOT ${
    NOT_EXTENSION_MEMBER("pg_class", "c.oid")
  })
  UNION ALL
  SELECT 'TABLE', ${
    qualifiedName("n.nspname", "c.relname")
  }, quote_ident(a.attname), a.attacl::text[],
    coalesce(i.initprivs, '{}')::text[]
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN init i ON i.objoid = c.oid AND i.classoid = 'pg_class'::regclass AND i.objsubid = a.attnum
  WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND n.nspname <> 'pg_toast'
    AND (n.nspname IN ('pg_catalog', 'information_schema') OR NOT ${
    NOT_EXTENSION_MEMBER("pg_class", "c.oid")
  })
  UNION ALL
  SELECT 'FUNCTION', ${qualifiedName("n.nspname", "p.proname")} || '(' ||
      pg_get_function_identity_arguments(p.oid) || ')', NULL, p.proacl::text[],
    coalesce(i.initprivs, acldefault('f', p.proowner))::text[]
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  LEFT JOIN init i ON i.objoid = p.oid AND i.classoid = 'pg_proc'::regclass AND i.objsubid = 0
  WHERE p.proacl IS NOT NULL AND (n.nspname IN ('pg_catalog', 'information_schema') OR NOT ${
    NOT_EXTENSION_MEMBER("pg_proc", "p.oid")
  })
  UNION ALL
  SELECT 'SCHEMA', quote_ident(n.nspname), NULL, n.nspacl::text[],
    coalesce(i.initprivs, acldefault('n', n.nspowner))::text[]
  FROM pg_namespace n
  LEFT JOIN init i ON i.objoid = n.oid AND i.classoid = 'pg_namespace'::regclass AND i.objsubid = 0
  WHERE n.nspacl IS NOT NULL AND n.nspname IN ('pg_catalog', 'information_schema')
  UNION ALL
  SELECT 'LANGUAGE', quote_ident(l.lanname), NULL, l.lanacl::text[],
    coalesce(i.initprivs, acldefault('l', l.lanowner))::text[]
  FROM pg_language l
  LEFT JOIN init i ON i.objoid = l.oid AND i.classoid = 'pg_language'::regclass AND i.objsubid = 0
  WHERE l.lanacl IS NOT NULL AND (l.oid < 16384 OR NOT ${
    NOT_EXTENSION_MEMBER("pg_language", "l.oid")
  })`;

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
  if (acl === null || o.grant_kind === null) return out;
  const on = `${o.grant_kind} ${o.name}`;
  out.push(`REVOKE ALL ON ${on} FROM PUBLIC;`, `REVOKE ALL ON ${on} FROM ${owner};`);
  for (const item of acl) {
    for (const g of grants(parseAclItem(item))) {
      out.push(`GRANT ${g.privileges} ON ${on} TO ${g.to}${g.option};`);
    }
  }
  return out;
}

/** GRANT statements for one column's access list (columns start with none: nothing to revoke). */
export function columnStatements(c: Row): string[] {
  return (c.acl as string[]).flatMap((item) =>
    grants(parseAclItem(item), (names) => names.map((n) => `${n} (${c.column})`).join(", "))
      .map(({ privileges, to, option }) =>
        `GRANT ${privileges} ON TABLE ${c.name} TO ${to}${option};`
      )
  );
}

/** ALTER DEFAULT PRIVILEGES statements taking `base` (the default) to `acl`. */
export function defaultPrivilegeStatements(d: Row): string[] {
  const prefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(d.role)}${
    d.schema ? ` IN SCHEMA ${d.schema}` : ""
  }`;
  return changeStatements(d.base, d.acl, {
    revoke: (from) => `${prefix} REVOKE ALL ON ${DEFAULT_KINDS[d.type]} FROM ${from};`,
    grant: (privileges, to, option) =>
      `${prefix} GRANT ${privileges} ON ${DEFAULT_KINDS[d.type]} TO ${to}${option};`,
  });
}

/** GRANT and REVOKE statements taking an object the dump does not create from `base` to `acl`. */
export function changedObjectStatements(o: Row): string[] {
  const on = `${o.grant_kind} ${o.name}`;
  const column = o.column ? ` (${o.column})` : "";
  return changeStatements(o.base, o.acl, {
    revoke: (from) => `REVOKE ALL${column} ON ${on} FROM ${from};`,
    grant: (privileges, to, option) => `GRANT ${privileges} ON ${on} TO ${to}${option};`,
  }, (names) => names.map((n) => `${n}${column}`).join(", "));
}

/** One grantee's privileges as GRANT pieces: those without and those with the grant option. */
function grants(
  entry: AclEntry,
  list: (names: string[]) => string = (names) => names.join(", "),
): { privileges: string; to: string; option: string }[] {
  const to = entry.grantee === "" ? "PUBLIC" : ident(entry.grantee);
  const out = [];
  for (const grantable of [false, true]) {
    const names = entry.privileges.filter((p) => p.grantable === grantable).map((p) => p.name);
    if (names.length > 0) {
      out.push({ privileges: list(names), to, option: grantable ? " WITH GRANT OPTION" : "" });
    }
  }
  return out;
}

/**
 * Statements taking access list `base` to `acl`, grantee by grantee: one
 * whose privileges differ loses all it had, then gets what it has now.
 */
function changeStatements(
  base: string[],
  acl: string[],
  write: {
    revoke: (from: string) => string;
    grant: (privileges: string, to: string, option: string) => string;
  },
  list?: (names: string[]) => string,
): string[] {
  const byGrantee = (items: string[]) => {
    const map = new Map<string, AclEntry>();
    for (const item of items) {
      const entry = parseAclItem(item);
      const had = map.get(entry.grantee);
      map.set(
        entry.grantee,
        had ? { ...had, privileges: [...had.privileges, ...entry.privileges] } : entry,
      );
    }
    return map;
  };
  const key = (e?: AclEntry) =>
    e ? e.privileges.map((p) => `${p.name}${p.grantable ? "*" : ""}`).sort().join(",") : "";
  const [before, after] = [byGrantee(base), byGrantee(acl)];
  const out: string[] = [];
  for (const grantee of new Set([...before.keys(), ...after.keys()])) {
    if (key(before.get(grantee)) === key(after.get(grantee))) continue;
    if (before.has(grantee)) out.push(write.revoke(grantee === "" ? "PUBLIC" : ident(grantee)));
    const now = after.get(grantee);
    if (now) {
      for (const g of grants(now, list)) out.push(write.grant(g.privileges, g.to, g.option));
    }
  }
  return out;
}

/** Every ownership and grant statement of the database. */
export async function allPrivilegeStatements(q: CatalogQuery): Promise<string[]> {
  return [
    ...(await q(objectQuery())).flatMap(privilegeStatements),
    ...(await q(COLUMN_QUERY)).flatMap(columnStatements),
    ...(await q(DEFAULT_ACL_QUERY)).flatMap(defaultPrivilegeStatements),
    ...(await q(CHANGED_QUERY)).flatMap(changedObjectStatements),
  ];
}
