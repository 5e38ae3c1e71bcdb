/**
 * Benchmark: the agent backing up a large SQLite database end to end
 * (RunBackup -> snapshot -> zstd -> v1 AES-256-GCM -> staged -> PUT to a
 * local S3 server -> BackupCompleted) against a reference pipeline of the
 * usual tools doing the same work in the same run: `sqlite3 .backup`,
 * `zstd -3`, an OpenSSL (node:crypto) AES-256-GCM framing, `curl` PUT.
 * Prints both times, the ratio, and the agent's peak RSS for the large and
 * a 10 MiB database. (An idle agent is tests/bench/idle_bench.ts.)
 *
 *   BENCH_SQLITE_MIB=1024 deno task bench
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { AgentProcess, FAST_TUNING } from "../support/agent_process.ts";
import { runBackupCommand, sqliteConfig, TEST_AGENT_KEY } from "../support/agent_fixtures.ts";
import { ControlPlane } from "../support/control_plane.ts";
import { ROOT } from "../support/programs.ts";
import { S3Server } from "../support/s3_server.ts";
import { readProc } from "./measure.ts";

const LARGE_MIB = Number(Deno.env.get("BENCH_SQLITE_MIB") ?? 1024);

/** A database of about `mib` MiB whose pages compress like real data (~3x). */
function makeDatabase(path: string, mib: number): void {
  const db = new DatabaseSync(path);
  db.exec(
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, body TEXT, blob BLOB)",
  );
  const insert = db.prepare("INSERT INTO events (kind, body, blob) VALUES (?, ?, randomblob(200))");
  const kinds = ["order.created", "order.paid", "user.login", "invoice.sent"];
  const rows = Math.ceil((mib * 1024 * 1024) / 900);
  db.exec("BEGIN");
  for (let i = 0; i < rows; i++) {
    insert.run(
      kinds[i % 4],
      `{"id":${i},"amount":${(i * 7919) % 100000},"note":"${
        "lorem ipsum ".repeat(40 + (i % 20))
      }"}`,
    );
    if (i % 100_000 === 0) db.exec("COMMIT; BEGIN");
  }
  db.exec("COMMIT");
  db.close();
}

async function timeCommand(command: string, args: string[]): Promise<number> {
  const started = performance.now();
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return (performance.now() - started) / 1000;
}

/** One agent backup of `database`; returns seconds and the agent's peak RSS during it. */
async function agentBackup(s3: S3Server, dir: string, database: string, runId: string) {
  await using server = new ControlPlane({
    agentKey: TEST_AGENT_KEY,
    config: sqliteConfig(database),
    pingEveryMs: 5000,
  });
  await using agent = AgentProcess.start(
    {
      BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
      BACKUPY_SERVER_URL: server.url,
      BACKUPY_LOG_LEVEL: "info",
    },
    join(dir, `state-${runId}`),
    { ...FAST_TUNING, runs: { progressIntervalMs: 2000 } },
  );
  await server.waitFor("handshake", () => server.payloads("heartbeat").length > 0);
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, readProc(agent.pid).rssKiB);
    } catch {
      // exited
    }
  }, 20);
  const started = performance.now();
  server.send({ case: "runBackup", value: await runBackupCommand(s3, runId) });
  const completed = await server.waitFor(
    "BackupCompleted",
    () => server.payloads("backupCompleted")[0],
    3_600_000,
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const hwm = readProc(agent.pid).hwmKiB;
  await agent.stop();
  return { seconds, peakRssMiB: Math.max(peak, hwm) / 1024, size: Number(completed.sizeBytes) };
}

async function referenceBackup(s3: S3Server, dir: string, database: string) {
  const key = crypto.getRandomValues(new Uint8Array(32)).toHex();
  const copy = join(dir, "ref.db");
  const packed = join(dir, "ref.db.zst");
  const sealed = join(dir, "ref.enc");
  const url = await s3.presignPut("reference/ref.enc");
  const steps = {
    "sqlite3 .backup": await timeCommand("sqlite3", [database, `.backup ${copy}`]),
    "zstd -3": await timeCommand("zstd", ["-3", "-q", "-f", "-T1", copy, "-o", packed]),
    "AES-256-GCM (OpenSSL)": await timeCommand("node", [
      join(ROOT, "tests/bench/reference_encrypt.mjs"),
      key,
      packed,
      sealed,
    ]),
    "curl PUT": await timeCommand("curl", [
      "-sf",
      "-X",
      "PUT",
      "-H",
      "Content-Type: application/octet-stream",
      "--upload-file",
      sealed,
      url,
    ]),
  };
  for (const file of [copy, packed, sealed]) await Deno.remove(file);
  return { steps, seconds: Object.values(steps).reduce((a, b) => a + b, 0) };
}

const dir = await Deno.makeTempDir({ prefix: "backupy-agent-bench-" });
try {
  await using s3 = await S3Server.start();
  console.log(`\nagent benchmark: SQLite ${LARGE_MIB} MiB end to end to a local S3 server`);
  const large = join(dir, "large.db");
  makeDatabase(large, LARGE_MIB);
  const size = Deno.statSync(large).size;
  const reference = await referenceBackup(s3, dir, large);
  const ours = await agentBackup(s3, dir, large, "bench-large");
  for (const [step, s] of Object.entries(reference.steps)) {
    console.log(`  reference ${step.padEnd(24)} ${s.toFixed(2)} s`);
  }
  console.log(
    `reference pipeline           ${reference.seconds.toFixed(2)} s  ${
      (size / reference.seconds / 1e6).toFixed(0)
    } MB/s`,
  );
  console.log(
    `backupy-agent (RunBackup)    ${ours.seconds.toFixed(2)} s  ${
      (size / ours.seconds / 1e6).toFixed(0)
    } MB/s  peak RSS ${ours.peakRssMiB.toFixed(0)} MiB`,
  );
  console.log(
    `ratio (agent / reference time): ${(ours.seconds / reference.seconds).toFixed(2)}x; uploaded ${
      (ours.size / 2 ** 20).toFixed(0)
    } MiB`,
  );

  const small = join(dir, "small.db");
  makeDatabase(small, 10);
  const smallRun = await agentBackup(s3, dir, small, "bench-small");
  console.log(
    `backupy-agent 10 MiB database: ${smallRun.seconds.toFixed(2)} s, peak RSS ${
      smallRun.peakRssMiB.toFixed(0)
    } MiB`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
