/**
 * The last line of defence against a silently incomplete dump: every table
 * the server's catalog listed when the snapshot began must have been
 * written. The list comes from a query of its own (not the one the writer
 * walks), so a table the writer's walk misses fails the dump by name
 * instead of leaving a backup without it.
 *
 * @module
 */
import { DumpError } from "./engine.ts";

/** Throws a DumpError naming each table of `catalog` missing from `dumped`. */
export function checkAllDumped(
  where: string,
  catalog: Iterable<string>,
  dumped: ReadonlySet<string>,
): void {
  const missing = [...catalog].filter((table) => !dumped.has(table));
  if (missing.length === 0) return;
  throw new DumpError(
    `${where}: the catalog lists ${missing.length === 1 ? "a table" : "tables"} the dump did ` +
      `not write: ${missing.join(", ")} - refusing to call this backup complete`,
  );
}
