/** Reading PostgreSQL access lists into GRANT statements. */
import { assertEquals, assertThrows } from "../support/assert.ts";
import {
  changedObjectStatements,
  columnStatements,
  defaultPrivilegeStatements,
  parseAclItem,
  privilegeStatements,
} from "../../agent/engines/postgres/dump/kinds/privileges.ts";

Deno.test("aclitem text: quoted roles, PUBLIC, grant options", () => {
  assertEquals(parseAclItem(`"backupy ""reader"""=r*w/owner`), {
    grantee: `backupy "reader"`,
    privileges: [{ name: "SELECT", grantable: true }, { name: "UPDATE", grantable: false }],
  });
  assertEquals(parseAclItem("=X/owner").grantee, "");
  assertThrows(() => parseAclItem("bob=?/owner"), Error, "unknown privilege");
});

Deno.test("an object with an access list: revoke all, then one GRANT per entry and option", () => {
  assertEquals(
    privilegeStatements({
      kind: "TABLE",
      grant_kind: "TABLE",
      name: "app.accounts",
      owner: "own",
      acl: ["own=arwdDxt/own", "=a/own", `"r x"=r*w/own`],
    }),
    [
      `ALTER TABLE app.accounts OWNER TO "own";`,
      "REVOKE ALL ON TABLE app.accounts FROM PUBLIC;",
      `REVOKE ALL ON TABLE app.accounts FROM "own";`,
      `GRANT INSERT, SELECT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE app.accounts TO "own";`,
      "GRANT INSERT ON TABLE app.accounts TO PUBLIC;",
      `GRANT UPDATE ON TABLE app.accounts TO "r x";`,
      `GRANT SELECT ON TABLE app.accounts TO "r x" WITH GRANT OPTION;`,
    ],
  );
});

Deno.test("a column's grants name the column in every privilege; nothing to revoke first", () => {
  assertEquals(
    columnStatements({ name: "app.t", column: `"Owner"`, acl: ["r=rw*/own"] }),
    [
      `GRANT SELECT ("Owner") ON TABLE app.t TO "r";`,
      `GRANT UPDATE ("Owner") ON TABLE app.t TO "r" WITH GRANT OPTION;`,
    ],
  );
});

Deno.test("default privileges: only the grantees whose privileges differ from the default change", () => {
  assertEquals(
    defaultPrivilegeStatements({
      role: "own",
      type: "f",
      schema: null,
      base: ["=X/own", "own=X/own"],
      acl: ["own=X/own", "r=X*/own"],
    }),
    [
      `ALTER DEFAULT PRIVILEGES FOR ROLE "own" REVOKE ALL ON FUNCTIONS FROM PUBLIC;`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE "own" GRANT EXECUTE ON FUNCTIONS TO "r" WITH GRANT OPTION;`,
    ],
  );
  assertEquals(
    defaultPrivilegeStatements({
      role: "own",
      type: "r",
      schema: "app",
      base: [],
      acl: ["r=r/own"],
    }),
    [`ALTER DEFAULT PRIVILEGES FOR ROLE "own" IN SCHEMA app GRANT SELECT ON TABLES TO "r";`],
  );
});

Deno.test("an object the dump does not create: from what it had to what it has, column by column", () => {
  assertEquals(
    changedObjectStatements({
      grant_kind: "TABLE",
      name: "pg_catalog.pg_proc",
      column: "prosrc",
      base: [],
      acl: ["r=r/postgres"],
    }),
    [`GRANT SELECT (prosrc) ON TABLE pg_catalog.pg_proc TO "r";`],
  );
  assertEquals(
    changedObjectStatements({
      grant_kind: "FUNCTION",
      name: "public.f()",
      column: null,
      base: ["=X/postgres", "postgres=X/postgres"],
      acl: ["postgres=X/postgres"],
    }),
    ["REVOKE ALL ON FUNCTION public.f() FROM PUBLIC;"],
  );
  // Entries in another order are the same access list: nothing to do.
  assertEquals(
    changedObjectStatements({
      grant_kind: "SCHEMA",
      name: "pg_catalog",
      column: null,
      base: ["a=U/x", "b=UC/x"],
      acl: ["b=CU/x", "a=U/x"],
    }),
    [],
  );
});
