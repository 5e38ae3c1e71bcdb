/** The catalog check: a table the catalog lists but the dump did not write fails the dump by name. */
import { assertThrows } from "../support/assert.ts";
import { checkAllDumped } from "../../agent/engines/shared/catalog_check.ts";
import { DumpError } from "../../agent/engines/shared/engine.ts";

Deno.test("catalog check: every listed table dumped passes; each missing one is named", () => {
  checkAllDumped(
    "database app",
    ['"public"."a"', '"public"."b"'],
    new Set(['"public"."a"', '"public"."b"']),
  );
  checkAllDumped("database app", [], new Set());
  assertThrows(
    () => checkAllDumped("database app", ["a", "b", "c"], new Set(["b"])),
    DumpError,
    "database app: the catalog lists tables the dump did not write: a, c - refusing",
  );
  assertThrows(
    () => checkAllDumped("database app", ["a"], new Set()),
    DumpError,
    "lists a table the dump did not write: a",
  );
});
