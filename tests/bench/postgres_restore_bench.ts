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
import { measure, type Measurement } from "./measure.ts";

const SCALE = Number(Deno.env.get("BENCH_RESTORE_SCALE") ?? 5);
const OBJECTS = Number(Deno.env.get("BENCH_RESTORE_OBJECTS") ?? 2000);
const url = new URL(
  Deno.env.get("BACKUPY_TEST_PG_URL") ??
    "postgres://backupy:backupy-test-pw@127.0.0.1:5432/postgres",
);
const host = url.hostname;
const port = url.port || "5432";
const user = decodeURIComponent(url.username);
const SOURCE = "backupy_restore_bench_src";
const BY_PSQL = "backupy_restore_bench_psql";
const BY_AGENT = "backupy_restore_bench_agent";
Deno.env.set("PGPASSWORD", decodeURIComponent(url.password));

async function run(command: string, args: string[], stdin?: string): Promise<void> {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const output = await child.output();
  if (!output.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** psql against `database`, stopping at the first error; `stdin` is the script, if given. */
const psql = (database: string, args: string[], stdin?: string) =>
  run(
    "psql",
    [
      "-X",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      host,
      "-p",
      port,
      "-U",
      user,
      "-d",
      database,
      ...args,
    ],
    stdin,
  );

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
  await run("pgbench", [
    "-i",
    "-q",
    "-s",
    String(SCALE),
    "-h",
    host,
    "-p",
    port,
    "-U",
    user,
    SOURCE,
  ]);
  await psql(SOURCE, [], objectsScript());

  const [encrypted, key, plain] = ["backup.enc", "key", "dump.sql"].map((f) => join(dir, f));
  const agent = (args: string[]) =>
    measure(Deno.execPath(), ["run", ...AGENT_PERMISSIONS, join(ROOT, "agent/main.ts"), ...args]);
  await agent([
    "backup",
    "--target",
    `postgres://${user}@${host}:${port}/${SOURCE}`,
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
  const byPsql = await measure("psql", [
    "-X",
    "-q",
    "-1",
    "-v",
    "ON_ERROR_STOP=1",
    "-h",
    host,
    "-p",
    port,
    "-U",
    user,
    "-d",
    BY_PSQL,
    "-f",
    plain,
  ]);
  const byAgent = await agent([
    "restore",
    "--target",
    `postgres://${user}@${host}:${port}/${BY_AGENT}`,
    "--in",
    encrypted,
    "--key-file",
    key,
  ]);
  const line = (label: string, m: Measurement) =>
    `${label.padEnd(52)} ${m.seconds.toFixed(2).padStart(6)} s  peak RSS ${
      m.peakRssMiB.toFixed(0)
    } MiB`;
  console.log(line("psql -1 -f (the dump decrypted beforehand)", byPsql));
  console.log(line("backupy-agent restore (decrypts as it goes)", byAgent));
  console.log(`ratio (restore): ${(byAgent.seconds / byPsql.seconds).toFixed(2)}x`);
} finally {
  await dropAll().catch(() => {});
  await Deno.remove(dir, { recursive: true });
}
