/**
 * Benchmark: `backupy-agent verify --level structure` of a local backup of
 * pgbench at BENCH_PGBENCH_SCALE (default 100) against `zstd -t` of the
 * same compressed bytes (target <= 1.5x), and `--level restore` beside
 * psql's own restore of the same dump.
 *
 *   BENCH_ONLY=verify deno task bench
 */
import { join } from "node:path";
import { AGENT_PERMISSIONS, DECRYPT_PERMISSIONS, ROOT } from "../support/programs.ts";
import { measure, type Measurement, measurementLine, runCommand } from "./measure.ts";

const SCALE = Number(Deno.env.get("BENCH_PGBENCH_SCALE") ?? 100);
const PG = { host: "127.0.0.1", port: "5432", user: "backupy" };
Deno.env.set("PGPASSWORD", "backupy-test-pw");
const DB = "backupy_vbench";

const psql = (db: string, sql: string) =>
  runCommand("psql", ["-h", PG.host, "-p", PG.port, "-U", PG.user, "-d", db, "-qc", sql]);

const dir = await Deno.makeTempDir({ prefix: "backupy-verify-bench-" });
try {
  console.log(`\nverify benchmark: pgbench scale ${SCALE}`);
  await psql("postgres", `DROP DATABASE IF EXISTS ${DB}`);
  await psql("postgres", `CREATE DATABASE ${DB}`);
  await runCommand("pgbench", [
    "-i",
    "-q",
    "-s",
    String(SCALE),
    "-h",
    PG.host,
    "-p",
    PG.port,
    "-U",
    PG.user,
    DB,
  ]);
  const out = join(dir, "pg.enc");
  const key = join(dir, "pg.key");
  const agent = (args: string[]) => [...AGENT_PERMISSIONS, join(ROOT, "agent/main.ts"), ...args];
  await runCommand(Deno.execPath(), [
    "run",
    ...agent([
      "backup",
      "--target",
      `postgres://${PG.user}@${PG.host}:${PG.port}/${DB}`,
      "--out",
      out,
      "--generate-key",
      key,
    ]),
  ]);
  // The compressed stream alone, for zstd -t.
  const zst = join(dir, "pg.zst");
  const sha = new TextDecoder().decode(
    (await new Deno.Command("sha256sum", { args: [out], stdout: "piped" }).output()).stdout,
  ).slice(0, 64);
  await runCommand(Deno.execPath(), [
    "run",
    ...DECRYPT_PERMISSIONS,
    join(ROOT, "decrypt/main.ts"),
    "--key-file",
    key,
    "--sha256",
    sha,
    "--in",
    out,
    "--out",
    zst,
    "--skip-decompress",
  ]);

  const zstdTest = await measure("zstd", ["-t", "-q", zst]);
  const structure = await measure(Deno.execPath(), [
    "run",
    ...agent(["verify", "--in", out, "--key-file", key, "--sha256", sha]),
  ]);
  const restore = await measure(Deno.execPath(), [
    "run",
    ...agent([
      "verify",
      "--in",
      out,
      "--key-file",
      key,
      "--level",
      "restore",
      "--scratch",
      `postgres://${PG.user}:backupy-test-pw@${PG.host}:${PG.port}/`,
    ]),
  ]);
  const plain = join(dir, "pg.sql");
  await runCommand(Deno.execPath(), [
    "run",
    ...DECRYPT_PERMISSIONS,
    join(ROOT, "decrypt/main.ts"),
    "--key-file",
    key,
    "--sha256",
    sha,
    "--in",
    out,
    "--out",
    plain,
  ]);
  await psql("postgres", `DROP DATABASE IF EXISTS ${DB}_psql`);
  await psql("postgres", `CREATE DATABASE ${DB}_psql TEMPLATE template0`);
  const psqlRestore = await measure("psql", [
    "-X",
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "-h",
    PG.host,
    "-U",
    PG.user,
    "-d",
    `${DB}_psql`,
    "-f",
    plain,
  ]);
  const line = (label: string, m: Measurement) => measurementLine(label, m, 52);
  console.log(line("zstd -t of the compressed dump", zstdTest));
  console.log(line("backupy-agent verify --level structure", structure));
  console.log(
    `ratio (structure / zstd -t): ${
      (structure.seconds / zstdTest.seconds).toFixed(2)
    }x (target <= 1.5x)`,
  );
  console.log(line("backupy-agent verify --level restore (whole check)", restore));
  console.log(line("psql restore of the same dump", psqlRestore));
} finally {
  await psql("postgres", `DROP DATABASE IF EXISTS ${DB}`).catch(() => {});
  await psql("postgres", `DROP DATABASE IF EXISTS ${DB}_psql`).catch(() => {});
  await Deno.remove(dir, { recursive: true });
}
