/**
 * Benchmark: `backupy-agent restore` of a PostgreSQL backup against psql
 * replaying the same dump (decrypted beforehand) in one transaction, each
 * into a fresh database on the test server, in the same run. The source is
 * pgbench at BENCH_RESTORE_SCALE (default 5) and BENCH_RESTORE_OBJECTS
 * (default 2000) small tables, each with a primary key, a comment and a row:
 * many short statements, so the time a statement waits on the connection
 * shows, as well as COPY.
 *
 *   BENCH_ONLY=pgrestore deno task bench
 */
import { join } from "node:path";
import { AGENT_PERMISSIONS, ROOT } from "../support/programs.ts";
import { PG_CLIENT_ARGS, pgTarget } from "./bench_postgres.ts";
import { measure, type Measurement, measurementLine, runCommand } from "./measure.ts";

const SCALE = Number(Deno.env.get("BENCH_RESTORE_SCALE") ?? 5);
const OBJECTS = Number(Deno.env.get("BENCH_RESTORE_OBJECTS") ?? 2000);
/** psql quiet, without ~/.psqlrc, stopping at the first error, on the benchmarks' server. */
const PSQL_ARGS = ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...PG_CLIENT_ARGS];
const SOURCE = "backupy_restore_bench_src";
const BY_PSQL = "backupy_restore_bench_psql";
const BY_AGENT = "backupy_restore_bench_agent";

/** psql against `database`, stopping at the first error; `stdin` is the script, if given. */
const psql = (database: string, args: string[], stdin?: string) =>
  runCommand("psql", [...PSQL_ARGS, "-d", database, ...args], stdin);

const dropAll = async () => {
  for (const database of [SOURCE, BY_PSQL, BY_AGENT]) {
    await psql("postgres", ["-c", `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`]);
  }
};

/** The small tables, as a script for psql. */
function objectsScript(): string {
  const lines: string[] = [];
  for (let i = 0; i < OBJECTS; i++) {
    lines.push(
      `CREATE TABLE small_${i} (id int PRIMARY KEY, note text);`,
      `COMMENT ON TABLE small_${i} IS 'table ${i}';`,
      `INSERT INTO small_${i} VALUES (${i}, 'row ${i}');`,
    );
  }
  return lines.join("\n");
}

const dir = await Deno.makeTempDir({ prefix: "backupy-pg-restore-bench-" });
try {
  console.log(`\npostgres restore benchmark: pgbench scale ${SCALE} and ${OBJECTS} small tables`);
  await dropAll();
  await psql("postgres", ["-c", `CREATE DATABASE ${SOURCE}`]);
  await runCommand("pgbench", ["-i", "-q", "-s", String(SCALE), ...PG_CLIENT_ARGS, SOURCE]);
  await psql(SOURCE, [], objectsScript());

  const [encrypted, key, plain] = ["backup.enc", "key", "dump.sql"].map((f) => join(dir, f));
  const agent = (args: string[]) =>
    measure(Deno.execPath(), ["run", ...AGENT_PERMISSIONS, join(ROOT, "agent/main.ts"), ...args]);
  await agent([
    "backup",
    "--target",
    pgTarget(SOURCE),
    "--out",
    encrypted,
    "--generate-key",
    key,
  ]);
  await measure(Deno.execPath(), [
    "run",
    "--allow-read",
    "--allow-write",
    join(ROOT, "decrypt/main.ts"),
    "--key-file",
    key,
    "--in",
    encrypted,
    "--out",
    plain,
  ]);

  await psql("postgres", ["-c", `CREATE DATABASE ${BY_PSQL} TEMPLATE template0`]);
  const byPsql = await measure("psql", [...PSQL_ARGS, "-1", "-d", BY_PSQL, "-f", plain]);
  const byAgent = await agent([
    "restore",
    "--target",
    pgTarget(BY_AGENT),
    "--in",
    encrypted,
    "--key-file",
    key,
  ]);
  const line = (label: string, m: Measurement) => measurementLine(label, m, 52);
  console.log(line("psql -1 -f (the dump decrypted beforehand)", byPsql));
  console.log(line("backupy-agent restore (decrypts as it goes)", byAgent));
  console.log(`ratio (restore): ${(byAgent.seconds / byPsql.seconds).toFixed(2)}x`);
} finally {
  await dropAll().catch(() => {});
  await Deno.remove(dir, { recursive: true });
}
