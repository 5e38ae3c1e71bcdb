/**
 * The restore schedule's refusals, each named in a warning with the job:
 * a cron expression that never fires, a kept backup whose file is gone,
 * and a docker-image restore asked of an agent with Docker turned off.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { join } from "node:path";
import { Secret } from "../../decrypt/secret.ts";
import { dekFromBytes } from "../../decrypt/dek.ts";
import { CronExpression } from "../../agent/config/cron_expression.ts";
import { Logger } from "../../agent/log/logger.ts";
import { BackupVerifier } from "../../agent/runs/backup_verifier.ts";
import { RestoreSchedule } from "../../agent/runs/restore_schedule.ts";
import { LatestBackups } from "../../agent/state/latest_backups.ts";
import { StateStore } from "../../agent/state/state_store.ts";
import type { BackupManifest } from "../../agent/manifest/backup_manifest.ts";
import { tempDir } from "../support/agent_fixtures.ts";
import { waitUntil } from "../support/wait.ts";

const KEY = new Secret("bkpy_test_abcdefghijklmnopqrstuvwxyz012345");

function manifest(engine: string): BackupManifest {
  return {
    manifest_version: 1,
    engine,
    engine_version: "x",
    created_at: "2026-01-01T00:00:00Z",
    backup_sha256: "00",
    backup_bytes: 1,
    dump_bytes: 1,
    objects: [{ name: "t", rows: 1, digest: "00" }],
  };
}

function setUp(dir: string, cron = "0 4 * * *") {
  const lines: Record<string, unknown>[] = [];
  const log = Logger.create("info", (line) => lines.push(JSON.parse(line)));
  const store = StateStore.open(dir, { agentKey: KEY });
  const latest = new LatestBackups(store, dir);
  const verifier = new BackupVerifier({ log, tempDir: dir });
  const schedule = new RestoreSchedule({
    cron: CronExpression.parse(cron, "X"),
    latest,
    verifier,
    scratch: [{ job: "job-pg", url: new Secret("docker-image:postgres:16") }],
    jobExists: () => true,
    log,
    workDir: dir,
  });
  const keep = async (jobId: string, engine: string) => {
    const file = join(dir, `${jobId}.staged`);
    await Deno.writeFile(file, new Uint8Array(8));
    await latest.keep(jobId, `run-${jobId}`, file, {
      dek: dekFromBytes(new Uint8Array(32), "test"),
      sha256: "00",
      manifest: manifest(engine),
    });
  };
  return { lines, store, latest, verifier, schedule, keep };
}

Deno.test("restore schedule: a cron expression that never fires is said once, not armed", async () => {
  await using dir = await tempDir("backupy-schedule-");
  const { lines, store, schedule } = setUp(dir.path, "0 0 31 2 *");
  schedule.start();
  schedule.stop();
  store.close();
  assert(lines.some((l) => String(l.msg).includes("never fires")), JSON.stringify(lines));
});

Deno.test("restore schedule: a kept backup whose file is gone is named; Docker turned off fails the docker-image restore", async () => {
  await using dir = await tempDir("backupy-schedule-");
  const { lines, store, latest, verifier, schedule, keep } = setUp(dir.path);
  await keep("job-sqlite", "sqlite");
  await keep("job-pg", "postgresql");
  await Deno.remove(latest.get("job-sqlite")!.path);
  assertEquals(schedule.fire(), ["job-pg"]);
  // The key is imported, then the restore queued and run: wait for its result.
  await waitUntil("the job-pg result", () => lines.some((l) => l.job_id === "job-pg"), 5000);
  await verifier.idle();
  store.close();
  const missing = lines.find((l) => l.job_id === "job-sqlite");
  assertMatch(String(missing?.msg), /not restored: the kept backup file is missing/);
  const failed = lines.find((l) => l.job_id === "job-pg" && l.level === "error");
  assertMatch(String(failed?.checks), /restore FAILED: a docker-image restore needs Docker/);
});
