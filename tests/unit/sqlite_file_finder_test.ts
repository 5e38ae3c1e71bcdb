/** engines/sqlite/sqlite_file_finder.ts: SQLite files in a mount, bounded. */
import { join } from "node:path";
import { findSqliteFiles } from "../../agent/engines/sqlite/sqlite_file_finder.ts";
import { makeSqliteDatabase, tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals } from "../support/assert.ts";

Deno.test("SQLite files in a mount: by name and header, depth and entry bounds", async () => {
  await using dir = await tempDir("backupy-sqlite-walk-");
  makeSqliteDatabase(join(dir.path, "top.db"), 1);
  await Deno.mkdir(join(dir.path, "a/b/c/d/e"), { recursive: true });
  makeSqliteDatabase(join(dir.path, "a/b/c/d/deep.sqlite3"), 1);
  makeSqliteDatabase(join(dir.path, "a/b/c/d/e/too-deep.db"), 1);
  makeSqliteDatabase(join(dir.path, "a/not-a-name.bin"), 1);
  await Deno.writeTextFile(join(dir.path, "a/fake.db"), "just text, not SQLite");
  assertEquals(await findSqliteFiles(dir.path), ["a/b/c/d/deep.sqlite3", "top.db"]);
  // The entry budget stops the walk.
  assertEquals(await findSqliteFiles(dir.path, { maxDepth: 4, maxEntries: 0 }), []);
  assertEquals(await findSqliteFiles(dir.path, { maxDepth: 0, maxEntries: 100 }), ["top.db"]);
  // Breadth first: a small budget is spent near the top, never down at depth 4.
  assert(
    !(await findSqliteFiles(dir.path, { maxDepth: 4, maxEntries: 4 })).includes(
      "a/b/c/d/deep.sqlite3",
    ),
  );
  assertEquals(await findSqliteFiles(join(dir.path, "missing")), []);
});
