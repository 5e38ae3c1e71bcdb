/** Reading PostgreSQL access lists into GRANT statements. */
import { assertEquals, assertThrows } from "../support/assert.ts";
import {
  parseAclItem,
  privilegeStatements,
} from "../../agent/engines/postgres/postgres_privileges.ts";

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
