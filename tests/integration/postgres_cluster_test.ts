/**
 * Whole-server PostgreSQL dumps (no database in the target): every
 * connectable non-template database in its own section, restored into a
 * fresh cluster with psql and with the agent's native restore. Runs on
 * throwaway clusters so no parallel test's databases come and go meanwhile.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import postgres from "postgres";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/agent_fixtures.ts";
import { backupToSql, runAgent, runDecrypt } from "../support/programs.ts";
import { TempPgCluster } from "../support/pg_cluster.ts";
import { PostgresEngine } from "../../agent/engines/postgres/postgres_engine.ts";

const ODD_NAME = `odd "db" = one`;

async function fill(cluster: TempPgCluster): Promise<void> {
  const admin = postgres(cluster.options());
  await admin.unsafe(`CREATE DATABASE app`);
  await admin.unsafe(`CREATE DATABASE "${ODD_NAME.replaceAll('"', '""')}"`);
  await admin.unsafe(`CREATE DATABASE empty_one`);
  await admin.unsafe(`CREATE DATABASE closed_one`);
  await admin.unsafe(`ALTER DATABASE closed_one ALLOW_CONNECTIONS false`);
  await admin.unsafe(`CREATE TABLE in_postgres (id int PRIMARY KEY, note text);
    INSERT INTO in_postgres SELECT g, 'row ' || g FROM generate_series(1, 50) g`);
  await admin.end();
  const app = postgres(cluster.options("app"));
  await app.unsafe(`CREATE TABLE orders (id serial PRIMARY KEY, amount numeric NOT NULL);
    INSERT INTO orders (amount) SELECT g * 1.5 FROM generate_series(1, 1000) g;
    CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100`);
  await app.end();
  const odd = postgres(cluster.options(ODD_NAME));
  await odd.unsafe(
    `CREATE TABLE "Tab" ("x y" text); INSERT INTO "Tab" VALUES ('a'), (E'tab\\there')`,
  );
  await odd.end();
}

/** Database name -> table -> digest of its ordered rows. */
async function contents(cluster: TempPgCluster): Promise<Record<string, Record<string, string>>> {
  const admin = postgres(cluster.options());
  const names =
    (await admin`SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1`)
      .map((r) => String(r.datname));
  await admin.end();
  const result: Record<string, Record<string, string>> = {};
  for (const name of names) {
    const sql = postgres(cluster.options(name));
    const tables = await sql`SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`;
    result[name] = {};
    for (const { t } of tables) {
      const [row] = await sql.unsafe(
        `SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS d FROM ${t} x`,
      );
      result[name][t] = `${row.n}:${row.d}`;
    }
    await sql.end();
  }
  return result;
}

Deno.test("a whole server dumps into sections that psql and the native restore put into a fresh cluster", async () => {
  await using source = await TempPgCluster.start();
  await fill(source);
  await using dir = await tempDir("backupy-pg-cluster-");
  const out = join(dir.path, "all.enc");
  const key = join(dir.path, "all.key");
  const backup = await runAgent([
    "backup",
    "--target",
    source.url(),
    "--out",
    out,
    "--generate-key",
    key,
  ]);
  assertEquals(backup.code, 0, backup.stderr);
  const sha = /sha256:\s+([0-9a-f]{64})/.exec(backup.stderr)![1];
  const expected = await contents(source);
  assertEquals(Object.keys(expected).sort(), ["app", "empty_one", ODD_NAME, "postgres"].sort());

  const sqlPath = join(dir.path, "all.sql");
  const decrypted = await runDecrypt([
    "--key-file",
    key,
    "--sha256",
    sha,
    "--in",
    out,
    "--out",
    sqlPath,
  ]);
  assertEquals(decrypted.code, 0, decrypted.stderr);
  const text = await Deno.readTextFile(sqlPath);
  assertMatch(text, /^--\n-- PostgreSQL database dump\n/);
  assertStringIncludes(text, "4 database(s)");
  assertEquals(
    text.includes("closed_one"),
    false,
    "a database that takes no connections is skipped",
  );

  await using viaPsql = await TempPgCluster.start();
  const replayed = await viaPsql.psql("postgres", ["-f", sqlPath]);
  assertEquals(replayed.code, 0, replayed.stderr.slice(0, 2000));
  assertEquals(await contents(viaPsql), expected);

  await using native = await TempPgCluster.start();
  const restoreArgs = [
    "restore",
    "--target",
    native.url(),
    "--in",
    out,
    "--key-file",
    key,
    "--sha256",
    sha,
  ];
  const restored = await runAgent(restoreArgs);
  assertEquals(restored.code, 0, restored.stderr);
  assertEquals(await contents(native), expected);

  // Again into the same server: the databases now have tables.
  const again = await runAgent(restoreArgs);
  assertEquals(again.code, 1);
  assertStringIncludes(again.stderr, "already has");
  assertEquals(await contents(native), expected, "a refused restore changes nothing");

  // A whole-server dump cannot go into one named database, nor the reverse.
  const intoOne = await runAgent([
    "restore",
    "--target",
    native.url("app2"),
    "--in",
    out,
    "--key-file",
    key,
  ]);
  assertEquals(intoOne.code, 1);
  assertStringIncludes(intoOne.stderr, "several databases");
  const one = await runAgent([
    "backup",
    "--target",
    source.url("app"),
    "--out",
    join(dir.path, "app.enc"),
    "--key-file",
    key,
  ]);
  assertEquals(one.code, 0, one.stderr);
  const intoServer = await runAgent([
    "restore",
    "--target",
    viaPsql.url(),
    "--in",
    join(dir.path, "app.enc"),
    "--key-file",
    key,
  ]);
  assertEquals(intoServer.code, 1);
  assertStringIncludes(intoServer.stderr, "name the target database");
});

Deno.test("a server restarted mid-dump fails the dump; the size estimate of a whole server adds its databases", async () => {
  await using cluster = await TempPgCluster.start();
  await fill(cluster);
  const engine = new PostgresEngine({
    host: "127.0.0.1",
    port: cluster.port,
    user: "postgres",
    database: "",
  });
  const app = new PostgresEngine({
    host: "127.0.0.1",
    port: cluster.port,
    user: "postgres",
    database: "app",
  });
  assert((await engine.estimateSize())! > 3 * (await app.estimateSize())!);

  const dump = await engine.dump(new AbortController().signal);
  const finished = dump.finished.then(() => null, (error: Error) => error);
  const reader = dump.readable.getReader();
  assert(!(await reader.read()).done);
  await cluster.restart();
  let failure: Error | null = null;
  try {
    while (!(await reader.read()).done) { /* drain */ }
  } catch (error) {
    failure = error as Error;
  }
  failure ??= await finished;
  assert(failure, "a dump across a server restart must not end cleanly");
});

Deno.test("a subscription is written as pg_dump writes it; one the user may not read fails the backup by name", async () => {
  await using cluster = await TempPgCluster.start();
  const sql = postgres(cluster.options());
  await sql.unsafe(`CREATE TABLE t (a int)`);
  await sql.unsafe(
    `CREATE SUBSCRIPTION mirror_sub CONNECTION 'host=elsewhere dbname=shop' PUBLICATION p1, "P 2"
      WITH (connect = false, slot_name = 'mirror_slot', binary = true, enabled = false)`,
  );
  await sql.unsafe(`COMMENT ON SUBSCRIPTION mirror_sub IS 'from the shop'`);
  // A user who may read every table but not a subscription's connection string.
  await sql.unsafe(`CREATE ROLE backupy_reader LOGIN; GRANT pg_read_all_data TO backupy_reader`);
  await sql.end();
  await using dir = await tempDir("backupy-pg-subscription-");
  const { sql: written } = await backupToSql(cluster.url("postgres"), dir.path, "s", {
    compression: "none",
  });
  const made = await cluster.psql("postgres", ["-c", "CREATE DATABASE restored"]);
  assertEquals(made.code, 0, made.stderr);
  const restored = await cluster.psql("restored", ["-f", written]);
  assertEquals(restored.code, 0, restored.stderr);
  const check = postgres(cluster.options("restored"));
  const [sub] = await check`SELECT s.subname, s.subenabled, s.subslotname, s.subbinary,
      s.subpublications::text AS publications, s.subconninfo,
      obj_description(s.oid, 'pg_subscription') AS comment
    FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = 'restored'`;
  await check.end();
  assertEquals({ ...sub }, {
    subname: "mirror_sub",
    subenabled: false,
    subslotname: "mirror_slot",
    subbinary: true,
    publications: `{p1,"P 2"}`,
    subconninfo: "host=elsewhere dbname=shop",
    comment: "from the shop",
  });

  const url = new URL(cluster.url("postgres"));
  url.username = "backupy_reader";
  const refused = await runAgent([
    "backup",
    "--target",
    url.href,
    "--out",
    join(dir.path, "r.enc"),
    "--generate-key",
    join(dir.path, "r.key"),
  ]);
  assertEquals(refused.code, 1, refused.stderr);
  assertStringIncludes(
    refused.stderr,
    // Its comment cannot be written without it either: both are named.
    "the dump cannot write 2 object(s): subscription mirror_sub; COMMENT ON SUBSCRIPTION mirror_sub",
  );
  assertStringIncludes(refused.stderr, "docker://");
  assertEquals(existsSync(join(dir.path, "r.enc")), false, "no partial backup is left behind");
});
