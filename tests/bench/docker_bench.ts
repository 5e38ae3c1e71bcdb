/**
 * Benchmark: a DOCKER_EXEC PostgreSQL backup through the agent (local mode,
 * `docker://CONTAINER`: pg_dump -Fc in the container, then zstd and
 * AES-256-GCM to a file) against `docker exec ... pg_dump -Fc > /dev/null`
 * on the same database in the same run (target <= 1.15x), with the agent's
 * peak RSS. The table is pgbench_accounts-shaped, BENCH_DOCKER_SCALE x
 * 100,000 rows (default 30).
 *
 *   BENCH_ONLY=docker deno task bench
 */
import { join } from "node:path";
import { AGENT_PERMISSIONS, ROOT } from "../support/programs.ts";
import { measure, type Measurement, measurementLine, median } from "./measure.ts";

const SCALE = Number(Deno.env.get("BENCH_DOCKER_SCALE") ?? 30);
const SOCKET = Deno.env.get("BACKUPY_TEST_DOCKER_SOCKET") ?? "/var/run/docker.sock";
const NAME = `backupy-bench-pg-${crypto.randomUUID().slice(0, 8)}`;
const PASSWORD = crypto.randomUUID();

async function docker(args: string[]): Promise<string> {
  const output = await new Deno.Command("docker", {
    args: ["-H", `unix://${SOCKET}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`docker ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout);
}

const dir = await Deno.makeTempDir({ prefix: "backupy-docker-bench-" });
try {
  console.log(`\ndocker benchmark: DOCKER_EXEC PostgreSQL, ${SCALE * 100_000} rows`);
  await docker([
    "run",
    "-d",
    "--name",
    NAME,
    "--network",
    "none",
    "-e",
    "POSTGRES_USER=app",
    "-e",
    `POSTGRES_PASSWORD=${PASSWORD}`,
    "-e",
    "POSTGRES_DB=bench",
    "postgres:backupy-test",
  ]);
  const execEnv = ["-e", `PGPASSWORD=${PASSWORD}`, "-e", "PGUSER=app", "-e", "PGDATABASE=bench"];
  for (let i = 0; i < 100; i++) {
    if (await docker(["exec", NAME, "test", "-f", "/tmp/ready"]).then(() => true, () => false)) {
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await docker([
    "exec",
    ...execEnv,
    NAME,
    "psql",
    "-Xqc",
    `CREATE TABLE pgbench_accounts AS SELECT g AS aid, g % ${SCALE} AS bid, 0 AS abalance,
       rpad(md5(g::text), 84) AS filler FROM generate_series(1, ${SCALE * 100_000}) g;
     ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid);`,
  ]);
  const key = join(dir, "key");
  await Deno.writeTextFile(key, crypto.getRandomValues(new Uint8Array(32)).toHex());

  const references: Measurement[] = [];
  const ours: Measurement[] = [];
  const oursWithout: Measurement[] = [];
  for (let round = 0; round < 3; round++) {
    // The PGPASSWORD of the reference is this benchmark's own throwaway container's.
    references.push(
      await measure("sh", [
        "-c",
        `docker -H unix://${SOCKET} exec ${execEnv.join(" ")} ${NAME} pg_dump -Fc > /dev/null`,
      ]),
    );
    await Deno.remove(join(dir, "ours.enc")).catch(() => {});
    ours.push(
      await measure(Deno.execPath(), [
        "run",
        ...AGENT_PERMISSIONS,
        join(ROOT, "agent/main.ts"),
        "backup",
        "--target",
        `docker://${NAME}`,
        "--out",
        join(dir, "ours.enc"),
        "--key-file",
        key,
      ]),
    );
    await Deno.remove(join(dir, "ours.enc")).catch(() => {});
    await Deno.remove(join(dir, "ours.enc.manifest")).catch(() => {});
    oursWithout.push(
      await measure(Deno.execPath(), [
        "run",
        ...AGENT_PERMISSIONS,
        join(ROOT, "agent/main.ts"),
        "backup",
        "--target",
        `docker://${NAME}`,
        "--out",
        join(dir, "ours.enc"),
        "--key-file",
        key,
        "--no-manifest",
      ]),
    );
  }
  const reference = median(references);
  const agent = median(ours);
  const agentWithout = median(oursWithout);
  const size = (await Deno.stat(join(dir, "ours.enc"))).size;
  const line = (label: string, m: Measurement) => measurementLine(label, m, 48);
  console.log(line("docker exec pg_dump -Fc > /dev/null (median of 3)", reference));
  console.log(line("backupy-agent backup docker:// (median of 3)", agent));
  console.log(line("  the same with --no-manifest (median of 3)", agentWithout));
  console.log(`backup size: ${(size / 1024 / 1024).toFixed(1)} MiB`);
  console.log(`ratio: ${(agent.seconds / reference.seconds).toFixed(2)}x (target <= 1.15x)`);
  console.log(
    `ratio without the manifest: ${(agentWithout.seconds / reference.seconds).toFixed(2)}x`,
  );
} finally {
  await docker(["rm", "-f", NAME]).catch(() => {});
  await Deno.remove(dir, { recursive: true });
}
