/**
 * runs/run_manager.ts on its own, without the control connection: a real
 * state store, a SQLite database and an in-process upload endpoint. Each
 * run ends with exactly one terminal message in the outbox: BackupCompleted
 * with the uploaded file's SHA-256, or a FAILED/CANCELLED JobUpdate that
 * says why (attempts spent, the URL about to expire, timeout, cancel).
 */
import { join } from "node:path";
import { createHash } from "node:crypto";
import { JobStatus } from "@backupy/gen/backup/v1/common_pb.ts";
import type { Envelope } from "@backupy/gen/backup/v1/envelope_pb.ts";
import {
  type JobOptions,
  makeSqliteDatabase,
  runBackupCommand,
  sqliteConfig,
  tempDir,
  TEST_AGENT_KEY,
} from "../support/agent_fixtures.ts";
import { Secret } from "../../decrypt/secret.ts";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { type Answer, UploadEndpoint } from "../support/upload_endpoint.ts";
import { waitUntil } from "../support/wait.ts";
import { Logger } from "../../agent/log/logger.ts";
import { RunManager } from "../../agent/runs/run_manager.ts";
import { AppliedConfig } from "../../agent/state/applied_config.ts";
import { Outbox } from "../../agent/state/outbox.ts";
import { RunRecords } from "../../agent/state/run_records.ts";
import { StateStore } from "../../agent/state/state_store.ts";

/** A manager over a fresh state directory, a SQLite target and an endpoint answering `answers`. */
async function harness(
  answers: Answer[],
  job: JobOptions = {},
  databaseRows = 300,
  retryDelayScale = 0.001,
) {
  const dir = await tempDir("backupy-run-manager-");
  const database = join(dir.path, "app.db");
  if (databaseRows > 0) makeSqliteDatabase(database, databaseRows);
  await Deno.mkdir(join(dir.path, "state"), { mode: 0o700 });
  const store = StateStore.open(join(dir.path, "state"), {
    agentKey: new Secret(TEST_AGENT_KEY),
  });
  const outbox = new Outbox(store);
  const config = new AppliedConfig(store);
  config.offer(sqliteConfig(database, 1n, [job]));
  const staging = join(dir.path, "staging");
  await Deno.mkdir(staging);
  const endpoint = new UploadEndpoint(answers);
  const manager = new RunManager({
    records: new RunRecords(store),
    outbox,
    config,
    log: Logger.create("error", () => {}),
    engines: { tempDir: staging },
    stagingDir: staging,
    maxParallelJobs: () => 1,
    hookEnv: {},
    timing: { progressIntervalMs: 50, retryDelayScale },
  });
  const terminal = () =>
    outbox.pending().map((e) => e.envelope).filter((e) =>
      e.payload.case === "backupCompleted" ||
      (e.payload.case === "jobUpdate" &&
        [JobStatus.FAILED, JobStatus.CANCELLED].includes(e.payload.value.status))
    );
  return {
    manager,
    endpoint,
    outbox,
    database,
    terminal,
    /** Waits for the run's one terminal message. */
    async ended(): Promise<Envelope> {
      await waitUntil("a terminal message", () => terminal().length > 0, 30_000);
      return terminal()[0];
    },
    async [Symbol.asyncDispose]() {
      await manager.shutdown(0);
      await endpoint[Symbol.asyncDispose]();
      store.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("a run uploads the backup and reports BackupCompleted with the uploaded file's SHA-256, once", async () => {
  await using h = await harness([{ status: 200 }]);
  const command = await runBackupCommand(null, "run-ok", { url: h.endpoint.url("k.enc") });
  assertEquals(h.manager.accept(command).accepted, true);
  // The same run again while it runs: accepted, not run twice.
  assertEquals(h.manager.accept(command).accepted, true);
  const ended = await h.ended();
  assertEquals(ended.payload.case, "backupCompleted");
  const completed = ended.payload.value as { sha256: string; sizeBytes: bigint; runId: string };
  assertEquals(h.endpoint.requests.length, 1);
  const body = h.endpoint.requests[0].body;
  assertEquals(completed.sha256, createHash("sha256").update(body).digest("hex"));
  assertEquals(completed.sizeBytes, BigInt(body.length));
  assertEquals(completed.runId, "run-ok");
  await waitUntil("the run to end", () => h.manager.activeJobIds().length === 0);
  assertEquals(h.terminal().length, 1);
});

Deno.test("a failing attempt is retried per the job's policy, then the run fails naming the attempts", async () => {
  // No database file: every attempt fails at the dump.
  await using h = await harness([{ status: 200 }], { maxAttempts: 3, backoffSeconds: [1] }, 0);
  h.manager.accept(await runBackupCommand(null, "run-retry", { url: h.endpoint.url("k.enc") }));
  const ended = await h.ended();
  assertEquals(ended.payload.case, "jobUpdate");
  const update = ended.payload.value as { status: JobStatus; errorMessage: string };
  assertEquals(update.status, JobStatus.FAILED);
  assertMatch(update.errorMessage, /\(attempt 3 of 3\)$/);
  assertEquals(h.endpoint.requests.length, 0, "nothing was uploaded");
  const retries = h.outbox.pending().filter((e) =>
    e.envelope.payload.case === "jobUpdate" &&
    /^retrying in/.test((e.envelope.payload.value as { currentStep: string }).currentStep)
  );
  assertEquals(retries.length, 2, "two retries announced");
});

Deno.test("no retry that would outlive the presigned URL: the run fails saying so", async () => {
  // Delays at their real scale: the next attempt would be 600 s away, the URL expires in 60.
  await using h = await harness([{ status: 200 }], { maxAttempts: 5, backoffSeconds: [600] }, 0, 1);
  h.manager.accept(
    await runBackupCommand(null, "run-expiring", {
      url: h.endpoint.url("k.enc"),
      expiresInSec: 60,
    }),
  );
  const update = (await h.ended()).payload.value as { status: JobStatus; errorMessage: string };
  assertEquals(update.status, JobStatus.FAILED);
  assertMatch(update.errorMessage, /the upload URL expires before another attempt/);
});

Deno.test("the job's timeout fails a run that is still uploading", async () => {
  await using h = await harness([{ status: 200, delayMs: 60_000 }], { timeoutSec: 1 });
  h.manager.accept(await runBackupCommand(null, "run-timeout", { url: h.endpoint.url("k.enc") }));
  const update = (await h.ended()).payload.value as { status: JobStatus; errorMessage: string };
  assertEquals(update.status, JobStatus.FAILED);
  assertMatch(update.errorMessage, /timed out after 1 s \(timeout_sec\)/);
});

Deno.test("CancelJob ends a running run as CANCELLED, and only that job's runs", async () => {
  await using h = await harness([{ status: 200, delayMs: 60_000 }]);
  h.manager.accept(await runBackupCommand(null, "run-cancel", { url: h.endpoint.url("k.enc") }));
  await waitUntil("the run to be active", () => h.manager.activeJobIds().includes("job-1"));
  assertEquals(h.manager.cancelJob("another-job"), 0);
  assertEquals(h.manager.cancelJob("job-1"), 1);
  const update = (await h.ended()).payload.value as { status: JobStatus };
  assertEquals(update.status, JobStatus.CANCELLED);
  assert(h.terminal().length === 1);
});

Deno.test("a RunBackup for an unknown job or with a bad DEK is refused before it runs", async () => {
  await using h = await harness([{ status: 200 }]);
  const unknown = h.manager.accept(
    await runBackupCommand(null, "run-unknown", { url: h.endpoint.url("k.enc"), jobId: "nope" }),
  );
  assertEquals(unknown.accepted, false);
  const shortDek = h.manager.accept(
    await runBackupCommand(null, "run-dek", {
      url: h.endpoint.url("k.enc"),
      dek: new Uint8Array(16),
    }),
  );
  assertEquals(shortDek.accepted, false);
  assertEquals(h.endpoint.requests.length, 0);
});
