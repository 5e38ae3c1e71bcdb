/**
 * The native SQLite engine: a consistent online copy while another
 * connection writes, in WAL and rollback-journal databases, and the header
 * and size checks that make a truncated copy a failure.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../support/assert.ts";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SqliteEngine } from "../../agent/engines/sqlite/sqlite_engine.ts";
import { DumpError } from "../../agent/engines/shared/engine.ts";
import { tempDir } from "../support/agent_fixtures.ts";
import { SQLITE_FORMAT } from "../../agent/engines/sqlite/sqlite_format.ts";

function createPairsDb(path: string, wal: boolean) {
  const db = new DatabaseSync(path);
  if (wal) db.exec("PRAGMA journal_mode = WAL");
  db.exec(
    "CREATE TABLE pairs (grp INTEGER, payload BLOB); CREATE TABLE total (n INTEGER); INSERT INTO total VALUES (0)",
  );
  db.exec("BEGIN");
  const insert = db.prepare("INSERT INTO pairs VALUES (?, randomblob(2000))");
  for (let g = 0; g < 2000; g++) {
    insert.run(g);
    insert.run(g);
  }
  db.exec("UPDATE total SET n = 4000; COMMIT");
  db.close();
}

/** Writes transactions of two rows plus the total until `stop` resolves. */
async function writeWhile(path: string, stop: Promise<unknown>): Promise<number> {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA busy_timeout = 10000");
  let done = false;
  stop.finally(() => done = true);
  let transactions = 0;
  for (let g = 100_000; !done; g++) {
    db.exec(
      `BEGIN IMMEDIATE; INSERT INTO pairs VALUES (${g}, randomblob(2000)); INSERT INTO pairs VALUES (${g}, randomblob(2000)); UPDATE total SET n = n + 2; COMMIT`,
    );
    transactions++;
    await new Promise((r) => setTimeout(r, 0));
  }
  db.close();
  return transactions;
}

for (const wal of [true, false]) {
  Deno.test(`a consistent copy while another connection writes (${wal ? "WAL" : "rollback journal"})`, async () => {
    await using dir = await tempDir("backupy-sqlite-");
    const source = join(dir.path, "app.db");
    createPairsDb(source, wal);
    const engine = new SqliteEngine(source, join(dir.path, "tmp"));
    assertMatch(await engine.version(), /^SQLite \d+\.\d+\.\d+$/);
    assert((await engine.estimateSize()) > 8_000_000);

    const dump = await engine.dump(new AbortController().signal);
    const copy = join(dir.path, "copy.db");
    const reading = (async () => {
      using file = await Deno.open(copy, { write: true, create: true });
      for await (const chunk of dump.readable) await file.write(chunk);
      await dump.finished;
    })();
    const transactions = await writeWhile(source, reading);
    await reading;
    assert(transactions > 0, "the writer wrote during the dump");

    const head = (await Deno.readFile(copy)).subarray(0, 16);
    assertEquals(SQLITE_FORMAT.checkHeader(head), null);
    const db = new DatabaseSync(copy, { readOnly: true });
    const { total } = db.prepare("SELECT n AS total FROM total").get() as { total: number };
    const { rows } = db.prepare("SELECT COUNT(*) AS rows FROM pairs").get() as { rows: number };
    const { half } = db.prepare(
      "SELECT COUNT(*) AS half FROM (SELECT grp FROM pairs GROUP BY grp HAVING COUNT(*) != 2)",
    ).get() as { half: number };
    const integrity = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
    db.close();
    assertEquals(rows, total, "the copy is one point in time");
    assertEquals(half, 0, "no half-applied transaction");
    assertEquals(integrity.integrity_check, "ok");
    assert(rows >= 4000);
    // The temporary snapshot is gone.
    assertEquals([...Deno.readDirSync(join(dir.path, "tmp"))].length, 0);
  });
}

Deno.test("missing file, relative path and a non-database are clear failures", async () => {
  await using dir = await tempDir("backupy-sqlite-");
  await assertRejects(
    () => new SqliteEngine(join(dir.path, "nope.db"), dir.path).dump(new AbortController().signal),
    DumpError,
    "cannot read the SQLite database",
  );
  try {
    new SqliteEngine("relative.db", dir.path);
    throw new Error("accepted a relative path");
  } catch (error) {
    assert(error instanceof DumpError);
  }
  const notDb = join(dir.path, "text.db");
  await Deno.writeTextFile(notDb, "just some text, not a database at all");
  await assertRejects(
    () => new SqliteEngine(notDb, dir.path).dump(new AbortController().signal),
    DumpError,
    "snapshot",
  );
});
