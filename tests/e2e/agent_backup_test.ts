/**
 * The agent end to end: the real agent as a child process, the test control
 * plane, a real S3-compatible server. A RunBackup of a SQLite database lands
 * in S3, its SHA-256 and size are BackupCompleted's, and backupy-decrypt with
 * a token for it restores a database with the source's rows.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { join } from "node:path";
import { JobStatus } from "@backupy/gen/backup/v1/common_pb.ts";
import { AgentProcess } from "../support/agent_process.ts";
import {
  makeSqliteDatabase,
  readItems,
  runBackupCommand,
  s3KeyOf,
  sqliteConfig,
  stateDirIn,
  tempDir,
  TEST_AGENT_KEY,
} from "../support/agent_fixtures.ts";
import { ControlPlane } from "../support/control_plane.ts";
import { runDecrypt } from "../support/programs.ts";
import { S3Server } from "../support/s3_server.ts";
import { makeToken, sha256Hex, tokenClaims } from "../support/v1_fixtures.ts";
import { assertNoSecrets } from "../support/secret_scan.ts";

Deno.test("RunBackup of a SQLite database: uploaded, reported, restorable", async () => {
  await using dir = await tempDir("backupy-agent-e2e-");
  await using s3 = await S3Server.start();
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 5000);
  await using server = new ControlPlane({
    agentKey: TEST_AGENT_KEY,
    config: sqliteConfig(database),
  });
  await using agent = AgentProcess.start({
    BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
    BACKUPY_SERVER_URL: server.url,
  }, stateDirIn(dir.path));

  // Register first, with what this build supports.
  const register = await server.waitFor("Register", () => server.payloads("register")[0]);
  assertEquals(register.os, "linux");
  assert(["amd64", "arm64"].includes(register.arch));
  assert(register.capabilities.includes("sqlite"));
  assertEquals(register.lastKnownConfigVersion, 0n);
  // Heartbeat right away, with the applied config version and real host figures.
  const heartbeat = await server.waitFor("Heartbeat", () => server.payloads("heartbeat")[0]);
  assertEquals(heartbeat.configVersion, 1n);
  assert(heartbeat.metrics!.memTotalBytes > 0n);
  assert(heartbeat.metrics!.diskTotalBytes > 0n);

  const dek = crypto.getRandomValues(new Uint8Array(32));
  const command = await runBackupCommand(s3, "run-ok-1", { dek });
  server.send({ case: "runBackup", value: command }, "corr-run-1");
  const ack = await server.waitFor(
    "Ack",
    () => server.payloads("ack").find((a) => a.correlationId === "corr-run-1"),
  );
  assertEquals(ack.accepted, true);

  const completed = await server.waitFor(
    "BackupCompleted",
    () => server.payloads("backupCompleted")[0],
    60_000,
  );
  assertEquals(completed.jobId, "job-1");
  assertEquals(completed.runId, "run-ok-1");
  assertEquals(completed.s3Key, s3KeyOf("run-ok-1"));
  assertEquals(completed.compression, "zstd");
  assertEquals(completed.encryptedDek, dek);
  assertMatch(completed.dbEngineVersion, /^SQLite \d+\.\d+\.\d+$/);
  assert(completed.durationMs > 0n);

  // The object in S3 is exactly what BackupCompleted describes.
  const object = await s3.get(completed.s3Key);
  assert(object !== null, "the object is in S3");
  assertEquals(BigInt(object.length), completed.sizeBytes);
  assertEquals(sha256Hex(object), completed.sha256);

  // Progress came as RUNNING updates with run_id; no FAILED.
  const updates = server.payloads("jobUpdate").filter((u) => u.runId === "run-ok-1");
  assert(updates.some((u) => u.status === JobStatus.RUNNING && u.currentStep === "dumping"));
  assert(updates.every((u) => u.status !== JobStatus.FAILED));

  // The user's restore: download, then backupy-decrypt with a token.
  const encrypted = join(dir.path, "backup.enc");
  await Deno.writeFile(encrypted, object);
  const token = makeToken(tokenClaims({
    run_id: "run-ok-1",
    dek: dek.toBase64(),
    sha256: completed.sha256,
  }));
  const restored = join(dir.path, "restored.db");
  const decrypt = await runDecrypt(["--token", token, "--in", encrypted, "--out", restored]);
  assertEquals(decrypt.code, 0, decrypt.stderr);
  assertEquals(readItems(restored), readItems(database));

  // A duplicate RunBackup is not run twice: its final message is sent again.
  server.send({ case: "runBackup", value: command }, "corr-run-dup");
  await server.waitFor(
    "the final message again",
    () => server.payloads("backupCompleted").length === 2,
  );
  const dupAck = server.payloads("ack").find((a) => a.correlationId === "corr-run-dup");
  assertEquals(dupAck?.accepted, true);

  const status = await agent.stop("SIGTERM");
  assertEquals(status.code, 0);
  assertNoSecrets(agent.lines, [
    TEST_AGENT_KEY,
    dek.toHex(),
    dek.toBase64(),
    command.uploadCreds!.presignedPutUrl,
  ]);
});
