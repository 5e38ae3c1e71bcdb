/**
 * Benchmark: pgbench at BENCH_PGBENCH_SCALE (default 100) on the test
 * PostgreSQL. In one run: the agent's native dump to a discarding sink
 * against `pg_dump -Fp` to /dev/null (target <= 1.2x), and the agent's
 * end-to-end local-mode backup against `pg_dump | zstd -3` followed by an
 * OpenSSL AES-256-GCM framing of the same bytes (target <= 1.25x); peak RSS.
 *
 *   BENCH_ONLY=postgres deno task bench
 */
import { join } from "node:path";
import { AGENT_PERMISSIONS, ROOT } from "../support/programs.ts";
import { PG_CLIENT_ARGS, PG_SERVER, pgTarget } from "./bench_postgres.ts";
import { measure, type Measurement, measurementLine, runCommand } from "./measure.ts";

const SCALE = Number(Deno.env.get("BENCH_PGBENCH_SCALE") ?? 100);
const DB = "backupy_pgbench";

const dir = await Deno.makeTempDir({ prefix: "backupy-pg-bench-" });
try {
  console.log(`\npostgres benchmark: pgbench scale ${SCALE}`);
  await runCommand("psql", [
    ...PG_CLIENT_ARGS,
    "-d",
    "postgres",
    "-qc",
    `DROP DATABASE IF EXISTS ${DB}`,
    "-qc",
    `CREATE DATABASE ${DB}`,
  ]);
  await runCommand("pgbench", ["-i", "-q", "-s", String(SCALE), ...PG_CLIENT_ARGS, DB]);
  const key = crypto.getRandomValues(new Uint8Array(32)).toHex();
  await Deno.writeTextFile(join(dir, "key"), key);

  const pgDump = await measure("sh", [
    "-c",
    `pg_dump -Fp ${PG_CLIENT_ARGS.join(" ")} ${DB} > /dev/null`,
  ]);
  const ours = await measure(Deno.execPath(), [
    "run",
    ...AGENT_PERMISSIONS,
    join(ROOT, "tests/bench/postgres_dump.ts"),
    PG_SERVER.host,
    PG_SERVER.port,
    PG_SERVER.user,
    DB,
  ]);
  const pipeline = await measure("sh", [
    "-c",
    `pg_dump -Fp ${PG_CLIENT_ARGS.join(" ")} ${DB} | zstd -3 -q -T1 > ${dir}/ref.zst && ` +
    `node ${
      join(ROOT, "tests/bench/reference_encrypt.mjs")
    } ${key} ${dir}/ref.zst ${dir}/ref.enc > /dev/null`,
  ]);
  const endToEnd = await measure(Deno.execPath(), [
    "run",
    ...AGENT_PERMISSIONS,
    join(ROOT, "agent/main.ts"),
    "backup",
    "--target",
    pgTarget(DB),
    "--out",
    join(dir, "ours.enc"),
    "--key-file",
    join(dir, "key"),
  ]);
  const line = (label: string, m: Measurement) => measurementLine(label, m, 44);
  console.log(line("pg_dump -Fp > /dev/null", pgDump));
  console.log(line("backupy PostgreSQL engine (dump only)", ours));
  console.log(`ratio (dump): ${(ours.seconds / pgDump.seconds).toFixed(2)}x (target <= 1.2x)`);
  console.log(line("pg_dump | zstd -3, then OpenSSL AES-256-GCM", pipeline));
  console.log(line("backupy-agent backup (end to end)", endToEnd));
  console.log(
    `ratio (end to end): ${(endToEnd.seconds / pipeline.seconds).toFixed(2)}x (target <= 1.25x)`,
  );
} finally {
  await runCommand("psql", [
    ...PG_CLIENT_ARGS,
    "-d",
    "postgres",
    "-qc",
    `DROP DATABASE IF EXISTS ${DB}`,
  ]).catch(() => {});
  await Deno.remove(dir, { recursive: true });
}
