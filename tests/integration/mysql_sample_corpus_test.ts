/**
 * Our MySQL/MariaDB backup of a database nobody here wrote - a public
 * sample database such as MySQL's sakila (views, routines, triggers, a
 * FULLTEXT MyISAM table, BLOBs, ENUM and SET columns) - held to
 * mariadb-dump: restored with the mariadb client, and again with
 * `backupy-agent restore`, each copy must have the schema of a mariadb-dump
 * round trip (`mariadb-dump --no-data --routines --events --triggers` of
 * the copies compared) and the same rows in every table (count and
 * `CHECKSUM TABLE ... EXTENDED`).
 *
 * Runs only when BACKUPY_TEST_MYSQL_CORPUS_DB is the mariadb:// URL of such
 * a database, as a user that may create three scratch databases, which are
 * dropped afterwards. The corpus is loaded beside the project and never
 * committed.
 */
import { tempDir } from "../support/agent_fixtures.ts";
import { assertEquals, assertSameLines } from "../support/assert.ts";
import { backupToSql, runAgent } from "../support/programs.ts";

const corpus = Deno.env.get("BACKUPY_TEST_MYSQL_CORPUS_DB");

/** A client tool against the corpus's server; the password travels in MYSQL_PWD, not argv. */
async function client(program: string, args: string[], stdinFile?: string) {
  const url = new URL(corpus!);
  const child = new Deno.Command(program, {
    args: [
      "--protocol=tcp",
      "-h",
      url.hostname,
      "-P",
      url.port || "3306",
      "-u",
      decodeURIComponent(url.username),
      ...args,
    ],
    env: { MYSQL_PWD: decodeURIComponent(url.password) },
    stdin: stdinFile ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdinFile) {
    using file = await Deno.open(stdinFile);
    await file.readable.pipeTo(child.stdin);
  }
  const output = await child.output();
  return {
    code: output.code,
    out: new TextDecoder().decode(output.stdout),
    err: new TextDecoder().decode(output.stderr),
  };
}

/** The URL of `database` on the corpus's server. */
function urlOf(database: string): string {
  const url = new URL(corpus!);
  url.pathname = `/${database}`;
  return url.href;
}

/** The schema as mariadb-dump writes it, one sorted line each, the database's name made neutral. */
async function schemaLines(database: string): Promise<string[]> {
  const dumped = await client("mariadb-dump", [
    "--no-data",
    "--routines",
    "--events",
    "--triggers",
    "--skip-dump-date",
    database,
  ]);
  assertEquals(dumped.code, 0, dumped.err);
  return dumped.out.replaceAll(database, "DB").split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("--"))
    .sort();
}

/** Every base table's row count and extended checksum. */
async function tableDigests(database: string): Promise<Record<string, string>> {
  const listed = await client("mariadb", [
    "-N",
    "-e",
    `SELECT table_name FROM information_schema.tables WHERE table_schema = '${database}'
     AND table_type = 'BASE TABLE' ORDER BY 1`,
  ]);
  assertEquals(listed.code, 0, listed.err);
  const out: Record<string, string> = {};
  for (const table of listed.out.split("\n").filter((t) => t !== "")) {
    const name = `\`${database}\`.\`${table}\``;
    const read = await client("mariadb", [
      "-N",
      "-e",
      `SELECT count(*) FROM ${name}; CHECKSUM TABLE ${name} EXTENDED`,
    ]);
    assertEquals(read.code, 0, read.err);
    const [count, checksum] = read.out.trim().split("\n");
    out[table] = `${count} ${checksum.split("\t")[1]}`;
  }
  return out;
}

Deno.test({
  name:
    "a public MySQL sample database: restored with the mariadb client and with the agent, schema and rows as a mariadb-dump round trip",
  ignore: !corpus,
  fn: async () => {
    const source = new URL(corpus!).pathname.slice(1);
    const [ours, reference, native] = ["ours", "mariadb_dump", "native"].map((n) =>
      `backupy_corpus_${n}`
    );
    await using dir = await tempDir("backupy-mysql-corpus-");
    const drop = async (database: string) => {
      const dropped = await client("mariadb", ["-e", `DROP DATABASE IF EXISTS ${database}`]);
      assertEquals(dropped.code, 0, dropped.err);
    };
    try {
      for (const database of [ours, reference, native]) await drop(database);
      const { sql: ourSql } = await backupToSql(corpus!, dir.path, "corpus");
      const created = await client("mariadb", [
        "-e",
        `CREATE DATABASE ${ours}; CREATE DATABASE ${reference}`,
      ]);
      assertEquals(created.code, 0, created.err);
      const restored = await client("mariadb", [ours], ourSql);
      assertEquals(restored.code, 0, `the mariadb client restores our backup: ${restored.err}`);

      const refFile = `${dir.path}/ref.sql`;
      const dumped = await client("mariadb-dump", [
        "--routines",
        "--events",
        "--triggers",
        `--result-file=${refFile}`,
        source,
      ]);
      assertEquals(dumped.code, 0, dumped.err);
      const refRestored = await client("mariadb", [reference], refFile);
      assertEquals(refRestored.code, 0, refRestored.err);

      const restoredNatively = await runAgent([
        "restore",
        "--target",
        urlOf(native),
        "--in",
        `${dir.path}/corpus.enc`,
        "--key-file",
        `${dir.path}/corpus.key`,
      ]);
      assertEquals(restoredNatively.code, 0, restoredNatively.stderr);

      const expectedSchema = await schemaLines(reference);
      const expectedRows = await tableDigests(reference);
      for (const copy of [ours, native]) {
        assertSameLines(
          await schemaLines(copy),
          expectedSchema,
          `${copy}: schema as a mariadb-dump round trip`,
        );
        assertEquals(await tableDigests(copy), expectedRows, `${copy}: rows`);
      }
    } finally {
      for (const database of [ours, reference, native]) await drop(database).catch(() => {});
    }
  },
});
