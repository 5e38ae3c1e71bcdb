/**
 * agent/engines/postgres/dump/object_sort.ts: needs before priorities,
 * sections kept, the one loop it may break (a pre-data object that needs a
 * post-data one moves to post-data where its kind may) and a clear error
 * for any other loop.
 */
import {
  type DumpObject,
  dumpObject,
  PRIORITY,
  type Section,
} from "../../agent/engines/postgres/dump/dump_object.ts";
import { DependencyLoopError, sortObjects } from "../../agent/engines/postgres/dump/object_sort.ts";
import { assertEquals, assertThrows } from "../support/assert.ts";

function object(
  key: string,
  priority: number,
  needs: string[] = [],
  section: Section = "pre-data",
  loopRepair?: "postpone",
): DumpObject {
  return dumpObject({
    key,
    label: key.toUpperCase(),
    priority,
    sortName: key,
    needs,
    section,
    loopRepair,
  });
}

const keys = (objects: DumpObject[]) => objects.map((o) => o.key);

Deno.test("without needs, objects come in pg_dump's order of kinds, then by name", () => {
  const sorted = sortObjects([
    object("t2", PRIORITY.table),
    object("f", PRIORITY.function),
    object("t1", PRIORITY.table),
    object("s", PRIORITY.schema),
  ]);
  assertEquals(keys(sorted), ["s", "f", "t1", "t2"]);
});

Deno.test("a need outranks the order of kinds: a function reading a table comes after it", () => {
  const sorted = sortObjects([
    object("table", PRIORITY.table),
    object("atomic", PRIORITY.function, ["table"]),
    object("plain", PRIORITY.function),
    object("gone", PRIORITY.function, ["not in the dump"]),
  ]);
  assertEquals(keys(sorted), ["gone", "plain", "table", "atomic"]);
});

Deno.test("sections hold: data after every definition, post-data after all data", () => {
  const sorted = sortObjects([
    object("index", PRIORITY.index, ["t"], "post-data"),
    object("data", PRIORITY.tableData, ["t"], "data"),
    object("t", PRIORITY.table),
    // A late-priority pre-data object still comes before any data.
    object("late", PRIORITY.decoration),
  ]);
  assertEquals(keys(sorted), ["t", "late", "data", "index"]);
});

Deno.test("a view that needs a primary key moves to post-data; one that may not move fails naming the loop", () => {
  const view = object("view", PRIORITY.table, ["pk"], "pre-data", "postpone");
  const sorted = sortObjects([
    object("t", PRIORITY.table),
    object("pk", PRIORITY.constraint, ["t"], "post-data"),
    view,
    object("data", PRIORITY.tableData, ["t"], "data"),
  ]);
  assertEquals(keys(sorted), ["t", "data", "pk", "view"]);
  assertEquals(view.section, "post-data");

  const error = assertThrows(
    () =>
      sortObjects([
        object("t", PRIORITY.table),
        object("pk", PRIORITY.constraint, ["t"], "post-data"),
        object("domain", PRIORITY.type, ["pk"]),
      ]),
    DependencyLoopError,
  );
  assertEquals(error.members.includes("DOMAIN") && error.members.includes("PK"), true);
});

Deno.test("a plain loop fails the dump with its members and what to do instead", () => {
  const error = assertThrows(
    () => sortObjects([object("a", PRIORITY.type, ["b"]), object("b", PRIORITY.function, ["a"])]),
    DependencyLoopError,
  );
  assertEquals(error.members.sort(), ["A", "B"]);
  assertEquals(/DOCKER_EXEC strategy \(pg_dump\)/.test(error.message), true);
});
