/**
 * The agent end to end: the real agent as a child process, the test control
 * plane, a real S3-compatible server. A RunBackup of a SQLite database lands
 * in S3, its SHA-256 and size are BackupCompleted's, and backupy-decrypt with
 * a token for it restores a database with the source's rows.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { join } from "node:path";
import { create, toJson } from "@bufbuild/protobuf";
import { DbType, JobStatus } from "@backupy/gen/backup/v1/common_pb.ts";
import { EnvelopeSchema } from "@backupy/gen/backup/v1/envelope_pb.ts";
import {
  AgentConfigSchema,
  BackupJobSpecSchema,
  ConnectionConfigSchema,
  TargetSchema,
} from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
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
import { MongoWireServer } from "../support/mongo_wire_server.ts";
import { serialize } from "bson";

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

Deno.test("RunBackup of MariaDB, Redis and MongoDB targets: versions from the servers, no password anywhere", async () => {
  const mariadb = new URL(
    Deno.env.get("BACKUPY_TEST_MARIADB_URL") ?? "mariadb://backupy:backupy-test-pw@127.0.0.1:3306/",
  );
  const redis = new URL(Deno.env.get("BACKUPY_TEST_REDIS_URL") ?? "redis://127.0.0.1:6379");
  const password = decodeURIComponent(mariadb.password);
  const setup = await new Deno.Command("mariadb", {
    args: [
      "-h",
      mariadb.hostname,
      "-P",
      mariadb.port || "3306",
      "-u",
      decodeURIComponent(mariadb.username),
      "-e",
      "CREATE DATABASE IF NOT EXISTS backupy_e2e; CREATE TABLE IF NOT EXISTS backupy_e2e.t (id INT PRIMARY KEY); REPLACE INTO backupy_e2e.t VALUES (1)",
    ],
    env: { MYSQL_PWD: password },
  }).output();
  assertEquals(setup.code, 0, new TextDecoder().decode(setup.stderr));

  await using dir = await tempDir("backupy-agent-engines-");
  await using s3 = await S3Server.start();
  const mongoPassword = `mongo-${crypto.randomUUID()}`;
  await using mongo = MongoWireServer.start({
    databases: { app: [{ name: "things", documents: [serialize({ _id: 1, name: "one" })] }] },
    user: { name: "root", password: mongoPassword },
  });
  const config = create(AgentConfigSchema, {
    version: 1n,
    targets: [
      create(TargetSchema, {
        id: "t-maria",
        type: DbType.MARIADB,
        connection: create(ConnectionConfigSchema, {
          host: mariadb.hostname,
          port: Number(mariadb.port || 3306),
          username: decodeURIComponent(mariadb.username),
          passwordSecretRef: password,
          database: "backupy_e2e",
        }),
      }),
      create(TargetSchema, {
        id: "t-redis",
        type: DbType.REDIS,
        connection: create(ConnectionConfigSchema, {
          host: redis.hostname,
          port: Number(redis.port || 6379),
        }),
      }),
      create(TargetSchema, {
        id: "t-mongo",
        type: DbType.MONGODB,
        connection: create(ConnectionConfigSchema, {
          host: "127.0.0.1",
          port: mongo.port,
          username: "root",
          passwordSecretRef: mongoPassword,
        }),
      }),
    ],
    jobs: [
      create(BackupJobSpecSchema, { id: "job-maria", targetId: "t-maria", compression: "zstd" }),
      create(BackupJobSpecSchema, { id: "job-redis", targetId: "t-redis", compression: "gzip" }),
      create(BackupJobSpecSchema, { id: "job-mongo", targetId: "t-mongo", compression: "zstd" }),
    ],
  });
  await using server = new ControlPlane({ agentKey: TEST_AGENT_KEY, config });
  await using agent = AgentProcess.start({
    BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
    BACKUPY_SERVER_URL: server.url,
  }, stateDirIn(dir.path));
  await server.waitFor("handshake", () => server.payloads("heartbeat").length > 0);
  const commands = [
    await runBackupCommand(s3, "run-maria", { jobId: "job-maria" }),
    await runBackupCommand(s3, "run-redis", { jobId: "job-redis" }),
    await runBackupCommand(s3, "run-mongo", { jobId: "job-mongo" }),
  ];
  for (const command of commands) server.send({ case: "runBackup", value: command });
  await server.waitFor(
    "all three completed",
    () => server.payloads("backupCompleted").length === 3,
    60_000,
  );
  const byRun = Object.fromEntries(server.payloads("backupCompleted").map((c) => [c.runId, c]));
  assertMatch(byRun["run-maria"].dbEngineVersion, /^MariaDB \d+\.\d+\.\d+$/);
  assertMatch(byRun["run-redis"].dbEngineVersion, /^Redis \d+\.\d+\.\d+$/);
  assertEquals(byRun["run-redis"].compression, "gzip");
  assertEquals(byRun["run-mongo"].dbEngineVersion, "MongoDB 7.0.4");
  for (const completed of Object.values(byRun)) {
    assertEquals(sha256Hex((await s3.get(completed.s3Key))!), completed.sha256);
  }
  await agent.stop();
  assertNoSecrets(agent.lines, [
    TEST_AGENT_KEY,
    password,
    mongoPassword,
    ...commands.flatMap((
      c,
    ) => [c.uploadCreds!.presignedPutUrl, c.encryptedDek.toHex(), c.encryptedDek.toBase64()]),
  ]);
  // What goes to the server never carries the database password (BackupCompleted echoes the DEK by design).
  assertNoSecrets(server.received.map((r) => JSON.stringify(toJson(EnvelopeSchema, r.envelope))), [
    password,
    mongoPassword,
  ]);
});
