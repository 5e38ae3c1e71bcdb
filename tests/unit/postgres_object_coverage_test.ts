/**
 * agent/engines/postgres/dump/object_coverage.ts and the aliases of
 * catalog_dependencies.ts it relies on: an object the dump does not write
 * fails the backup by name unless it is part of one it writes (internal
 * dependency, partition clone) or belongs to an extension it creates.
 */
import {
  applyDependencies,
  type DependencyRow,
  ObjectResolver,
} from "../../agent/engines/postgres/dump/catalog_dependencies.ts";
import {
  type DumpObject,
  dumpObject,
  PRIORITY,
} from "../../agent/engines/postgres/dump/dump_object.ts";
import {
  type CatalogObject,
  checkCoverage,
  coverageQuery,
  dropOrphanDecorations,
  uncoveredObjects,
} from "../../agent/engines/postgres/dump/object_coverage.ts";
import { DumpError } from "../../agent/engines/shared/engine.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../support/assert.ts";

function objects(...keys: string[]): Map<string, DumpObject> {
  return new Map(
    keys.map((
      key,
    ) => [key, dumpObject({ key, label: key, priority: PRIORITY.table, sortName: key })]),
  );
}

const row = (catalog: string, oid: string, refCatalog: string, refOid: string, type: string) =>
  ({ catalog, oid, refCatalog, refOid, type }) as DependencyRow;

const listed = (catalog: string, oid: string, what: string): CatalogObject => ({
  catalog,
  oid,
  what,
});

Deno.test("coverage: written objects, their internal parts and extension members are covered", () => {
  const dumped = objects("pg_class:100", "pg_extension:300");
  const resolver = new ObjectResolver();
  applyDependencies(
    [
      row("pg_type", "101", "pg_class", "100", "i"), // the table's row type
      row("pg_type", "102", "pg_type", "101", "i"), // its array type
      row("pg_proc", "301", "pg_extension", "300", "e"), // an extension's function
    ],
    dumped,
    resolver,
  );
  const uncovered = uncoveredObjects(
    [
      listed("pg_class", "100", "table t"),
      listed("pg_type", "102", "type t[]"),
      listed("pg_proc", "301", "function ext_f()"),
      listed("pg_operator", "400", "operator ##(integer,integer)"),
    ],
    dumped,
    resolver,
  );
  assertEquals(uncovered, ["operator ##(integer,integer)"]);
});

Deno.test("coverage: a partition's clone is covered by its parent's, but an internal owner comes first", () => {
  // Child index 21 belongs to child constraint 20 ('i') and clones parent index 11 ('P').
  const dumped = objects("pg_constraint:10", "pg_constraint:20");
  const resolver = new ObjectResolver();
  applyDependencies(
    [
      row("pg_class", "21", "pg_constraint", "20", "i"),
      row("pg_class", "21", "pg_class", "11", "P"),
      row("pg_class", "11", "pg_constraint", "10", "i"),
      row("pg_trigger", "31", "pg_trigger", "30", "P"),
      row("pg_constraint", "20", "pg_constraint", "10", "P"),
    ],
    new Map([...dumped, ...objects("pg_trigger:30")]),
    resolver,
  );
  assertEquals(resolver.resolve("pg_class:21"), "pg_constraint:20");
  assertEquals(resolver.resolve("pg_trigger:31"), "pg_trigger:30");
  // The child constraint needs its parent's, never the other way round.
  assert(dumped.get("pg_constraint:20")!.needs.has("pg_constraint:10"));
  assertEquals([...dumped.get("pg_constraint:10")!.needs], []);
});

Deno.test("coverage: what is left out fails the dump by name, with what to do instead", () => {
  checkCoverage("shop", []);
  const error = assertThrows(
    () => checkCoverage("shop", ["subscription sub1", "operator ##(integer,integer)"]),
    DumpError,
  );
  assertStringIncludes(error.message, "database shop: the dump cannot write 2 object(s)");
  assertStringIncludes(error.message, "subscription sub1; operator ##(integer,integer)");
  assertStringIncludes(error.message, "docker://");
  const many = Array.from({ length: 25 }, (_, i) => `table t${i}`);
  const long = assertThrows(() => checkCoverage("shop", many), DumpError);
  assertStringIncludes(long.message, "table t19 and 5 more");
});

Deno.test("coverage query: schemas of the system and publication schemas before 15 are not asked", () => {
  assertStringIncludes(coverageQuery(150000), "pg_publication_namespace");
  assertEquals(coverageQuery(140000).includes("pg_publication_namespace"), false);
  assertStringIncludes(coverageQuery(150000), "pg_toast");
});

Deno.test("coverage: a comment on an object the dump does not write fails it, unless an extension owns the object", () => {
  const comment = (label: string, target: string, member: boolean) =>
    dumpObject({
      key: label,
      label,
      priority: PRIORITY.decoration,
      sortName: label,
      decorates: target,
      decoratesExtensionMember: member,
    });
  const dumped = objects("pg_class:100");
  for (
    const c of [
      comment("COMMENT ON TABLE t", "pg_class:100", false),
      comment("COMMENT ON FUNCTION ext_f()", "pg_proc:301", true),
      comment("COMMENT ON CONSTRAINT nn ON t", "pg_constraint:500", false),
    ]
  ) dumped.set(c.key, c);
  const lost = dropOrphanDecorations(dumped, new ObjectResolver());
  assertEquals(lost, ["COMMENT ON CONSTRAINT nn ON t"]);
  // Neither orphan is written; the one on a written table stays.
  assertEquals([...dumped.keys()], ["pg_class:100", "COMMENT ON TABLE t"]);
  const error = assertThrows(() => checkCoverage("shop", lost), DumpError);
  assertStringIncludes(error.message, "COMMENT ON CONSTRAINT nn ON t");
});
