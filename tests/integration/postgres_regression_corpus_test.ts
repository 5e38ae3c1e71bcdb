/**
 * Our PostgreSQL backup of a database nobody here wrote - PostgreSQL's own
 * regression database, what `make installcheck` leaves behind - held to
 * pg_dump: backed up with no warning, restored with psql it must give zero
 * errors, the same schema as a pg_dump round trip (`pg_dump --schema-only`
 * of both copies), the same rows in every table, the same state of every
 * sequence and every large object with its comment. The same backup,
 * restored by the agent's own `restore`, must give the same again.
 *
 * Runs only when BACKUPY_TEST_PG_REGRESS_DB is the URL of such a database
 * (a superuser on a server where it may create three scratch databases, which
 * are dropped afterwards): the corpus is built beside the project from the
 * PostgreSQL source and is never committed. docs/engines.md section 4 says
 * how to build it.
 */
import postgres from "postgres";
import { join } from "node:path";
import { tempDir } from "../support/agent_fixtures.ts";
import { assertEquals, assertSameLines } from "../support/assert.ts";
import { backupToSql, runAgent } from "../support/programs.ts";

const corpus = Deno.env.get("BACKUPY_TEST_PG_REGRESS_DB");

/** The URL of `database` on the corpus's server. */
function urlOf(database: string): URL {
  const url = new URL(corpus!);
  url.pathname = `/${database}`;
  return url;
}

/** psql or pg_dump against `database` on the corpus's server; a password travels in PGPASSWORD, not argv. */
async function client(program: string, database: string, args: string[]) {
  const url = urlOf(database);
  const password = decodeURIComponent(url.password);
  url.password = "";
  const output = await new Deno.Command(program, {
    args: [...args, url.href],
    env: password ? { PGPASSWORD: password } : {},
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    out: new TextDecoder().decode(output.stdout),
    err: new TextDecoder().decode(output.stderr),
  };
}

/** The schema as pg_dump sees it, one sorted line each: comments, blank lines and \restrict keys dropped. */
async function schemaLines(database: string, privileges: boolean): Promise<string[]> {
  const dumped = await client("pg_dump", database, [
    "--schema-only",
    ...privileges ? [] : ["--no-owner", "--no-privileges"],
  ]);
  assertEquals(dumped.code, 0, dumped.err);
  return dumped.out.split("\n").filter((l) =>
    l.trim() !== "" && !l.startsWith("--") && !/^\\(un)?restrict /.test(l)
  )
    .sort();
}

/** Every table's row count and an ordered digest of its rows; every sequence's state; every large object with its comment. */
async function tableDigests(database: string): Promise<Record<string, string>> {
  const sql = postgres(urlOf(database).href, { max: 1, onnotice: () => {} });
  try {
    const tables =
      await sql`SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1`;
    const out: Record<string, string> = {};
    for (const { t } of tables) {
      const [row] = await sql.unsafe(
        `SELECT count(*)::text AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS d FROM ${t} x`,
      );
      out[t] = `${row.n} ${row.d}`;
    }
    const sequences =
      await sql`SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS s,
      coalesce(last_value::text, 'not called') AS v FROM pg_sequences ORDER BY 1`;
    for (const { s, v } of sequences) out[`sequence ${s}`] = v;
    const objects = await sql`SELECT oid::text AS oid, md5(lo_get(oid)) AS d,
      obj_description(oid, 'pg_largeobject') AS c FROM pg_largeobject_metadata ORDER BY oid`;
    for (const { oid, d, c } of objects) out[`large object ${oid}`] = `${d} ${c}`;
    return out;
  } finally {
    await sql.end();
  }
}

for (const privileges of [false, true]) {
  Deno.test({
    name: `PostgreSQL's regression database${
      privileges ? " with owners and grants" : ""
    }: restored with psql and with the agent, schema and rows as a pg_dump round trip`,
    ignore: !corpus,
    fn: () => roundTrip(privileges),
  });
}

/**
 * Our backup and a pg_dump of the corpus, each restored by psql into a
 * scratch database, and our backup restored by the agent into a third,
 * compared.
 */
async function roundTrip(privileges: boolean): Promise<void> {
  const source = new URL(corpus!).pathname.slice(1);
  const ours = "backupy_corpus_ours";
  const reference = "backupy_corpus_pg_dump";
  const native = "backupy_corpus_native";
  await using dir = await tempDir("backupy-pg-corpus-");
  const recreate = async (database: string) => {
    const made = await client("psql", "postgres", [
      "-X",
      "-q",
      "-c",
      `DROP DATABASE IF EXISTS ${database}`,
      "-c",
      `CREATE DATABASE ${database} TEMPLATE template0`,
    ]);
    assertEquals(made.code, 0, made.err);
  };
  try {
    const { sql: ourSql, backup } = await backupToSql(corpus!, dir.path, "corpus", {
      flags: privileges ? ["--with-privileges"] : [],
    });
    assertEquals(backup.stderr.includes("warning"), false, backup.stderr);
    await recreate(ours);
    const restored = await client("psql", ours, ["-X", "-q", "-f", ourSql]);
    const errors = restored.err.split("\n").filter((l) => l.includes("ERROR:"));
    assertEquals(errors, [], "psql restores our backup with no error");

    const pgDump = await client("pg_dump", source, [
      ...privileges ? [] : ["--no-owner", "--no-privileges"],
      "-f",
      join(dir.path, "ref.sql"),
    ]);
    assertEquals(pgDump.code, 0, pgDump.err);
    await recreate(reference);
    const referenceRestore = await client("psql", reference, [
      "-X",
      "-q",
      "-f",
      join(dir.path, "ref.sql"),
    ]);
    assertEquals(referenceRestore.err.split("\n").filter((l) => l.includes("ERROR:")), []);

    const [expected, actual] = [
      await schemaLines(reference, privileges),
      await schemaLines(ours, privileges),
    ];
    assertSameLines(actual, expected, "schema as a pg_dump round trip");
    const referenceRows = await tableDigests(reference);
    assertEquals(await tableDigests(ours), referenceRows);

    // The agent creates the target database itself (from template0).
    await client("psql", "postgres", ["-X", "-q", "-c", `DROP DATABASE IF EXISTS ${native}`]);
    const restoredNatively = await runAgent([
      "restore",
      "--target",
      urlOf(native).href,
      "--in",
      `${dir.path}/corpus.enc`,
      "--key-file",
      `${dir.path}/corpus.key`,
    ]);
    assertEquals(restoredNatively.code, 0, restoredNatively.stderr);
    assertSameLines(
      await schemaLines(native, privileges),
      expected,
      "schema after the agent's restore as a pg_dump round trip",
    );
    assertEquals(await tableDigests(native), referenceRows);
  } finally {
    for (const database of [ours, reference, native]) {
      await client("psql", "postgres", [
        "-X",
        "-q",
        "-c",
        `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`,
      ]);
    }
  }
}
