/**
 * Service mode's verification after every backup (BACKUPY_VERIFY): the
 * backup is reported first, then verified; the result reaches the server
 * as a LogEvent and the metrics; the manifest is kept in the state store,
 * and `backupy-agent manifest` hands it out so a downloaded backup can be
 * verified offline with its token.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  ConnectionStrategy,
  DbType,
  LogLevel,
  RetryPolicySchema,
} from "@backupy/gen/backup/v1/common_pb.ts";
import {
  AgentConfigSchema,
  BackupJobSpecSchema,
  ConnectionConfigSchema,
  TargetSchema,
} from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { AgentProcess, FAST_TUNING, scrapeMetrics } from "../support/agent_process.ts";
import {
  makeSqliteDatabase,
  runBackupCommand,
  sqliteConfig,
  stateDirIn,
  tempDir,
  TEST_AGENT_KEY,
} from "../support/agent_fixtures.ts";
import { ControlPlane } from "../support/control_plane.ts";
import { runAgent } from "../support/programs.ts";
import { S3Server } from "../support/s3_server.ts";
import { IMAGES } from "../support/docker_fixtures.ts";
import { mariadb, psql, TEST_PASSWORD } from "../support/sql_clients.ts";
import { makeToken, tokenClaims } from "../support/v1_fixtures.ts";
import { assertNoSecrets } from "../support/secret_scan.ts";

Deno.test("BACKUPY_VERIFY=manifest: each backup is verified after its report; the manifest is kept and verifies the downloaded backup", async () => {
  await using dir = await tempDir("backupy-agent-verify-e2e-");
  await using s3 = await S3Server.start();
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 3000);
  await using server = new ControlPlane({
    agentKey: TEST_AGENT_KEY,
    config: sqliteConfig(database),
  });
  const state = stateDirIn(dir.path);
  await using agent = AgentProcess.start({
    BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
    BACKUPY_SERVER_URL: server.url,
    BACKUPY_VERIFY: "manifest",
  }, state);
  await server.waitFor("Register", () => server.payloads("register")[0]);

  const dek = crypto.getRandomValues(new Uint8Array(32));
  const command = await runBackupCommand(s3, "run-v-1", { dek });
  server.send({ case: "runBackup", value: command }, "corr-v-1");
  const completed = await server.waitFor(
    "BackupCompleted",
    () => server.payloads("backupCompleted")[0],
    60_000,
  );
  const verified = await server.waitFor(
    "the verification's LogEvent",
    () => server.payloads("log").find((e) => e.fields.run_id === "run-v-1"),
    60_000,
  );
  assertEquals(verified.level, LogLevel.INFO);
  assertEquals(verified.jobId, "job-1");
  assertEquals(verified.message, "backup verified: level manifest proved");
  assertEquals(verified.fields.verify_level, "manifest");
  assertEquals(verified.fields.objects, "1");
  assertMatch(verified.fields.checks, /manifest ok: 1 objects/);
  assertMatch(verified.fields.checks, /sha256 ok/);
  // The report came first: the verification's LogEvent is later in the stream.
  const sent = server.received.map((r) => r.envelope.payload);
  assert(
    sent.findIndex((p) => p.case === "backupCompleted") <
      sent.findIndex((p) => p.case === "log" && p.value.fields.run_id === "run-v-1"),
  );

  const metrics = await scrapeMetrics(state);
  assertMatch(
    metrics,
    /backupy_agent_last_verified_timestamp_seconds\{job_id="job-1",level="manifest"\} \d/,
  );
  assert(!/backupy_agent_verify_failures_total\{/.test(metrics), "no failure counted");
  // The staged file was the verifier's to remove (just after it logged the result).
  await server.waitFor(
    "the staged file removed",
    () => [...Deno.readDirSync(join(state, "staging"))].every((e) => !e.isFile),
    10_000,
  );

  // The user's story: list the kept manifests, export this run's, verify the download.
  const env = { BACKUPY_STATE_DIR: state, BACKUPY_AGENT_KEY: TEST_AGENT_KEY };
  const listed = await runAgent(["manifest", "--json"], env);
  assertEquals(listed.code, 0, listed.stderr);
  const kept = JSON.parse(new TextDecoder().decode(listed.stdout));
  assertEquals(kept.length, 1);
  assertEquals(kept[0].run_id, "run-v-1");
  assertEquals(kept[0].backup_sha256, completed.sha256);
  const manifestFile = join(dir.path, "run-v-1.manifest");
  const exported = await runAgent(
    ["manifest", "--run", "run-v-1", "--out", manifestFile],
    env,
  );
  assertEquals(exported.code, 0, exported.stderr);
  const downloaded = join(dir.path, "downloaded.enc");
  await Deno.writeFile(downloaded, (await s3.get(completed.s3Key))!);
  const token = makeToken(tokenClaims({
    run_id: "run-v-1",
    dek: dek.toBase64(),
    sha256: completed.sha256,
  }));
  const verify = await runAgent([
    "verify",
    "--in",
    downloaded,
    "--token",
    token,
    "--level",
    "manifest",
    "--manifest",
    manifestFile,
  ]);
  assertEquals(verify.code, 0, verify.stderr);
  assertMatch(verify.stderr, /OK: .*level manifest proved/);
  // Without the agent key the manifest is not handed out; an unknown run is named.
  const noKey = await runAgent(["manifest", "--run", "run-v-1", "--out", manifestFile], {
    BACKUPY_STATE_DIR: state,
  });
  assertEquals(noKey.code, 1);
  assertMatch(noKey.stderr, /BACKUPY_AGENT_KEY: required/);
  const unknown = await runAgent(["manifest", "--run", "run-nope", "--out", manifestFile], env);
  assertEquals(unknown.code, 1);
  assertMatch(unknown.stderr, /no manifest kept for run "run-nope"/);
  // Another agent key cannot open it, and the message does not echo the key.
  const otherKey = "bkpy_test_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ";
  const wrongKey = await runAgent(["manifest", "--run", "run-v-1", "--out", manifestFile], {
    BACKUPY_STATE_DIR: state,
    BACKUPY_AGENT_KEY: otherKey,
  });
  assertEquals(wrongKey.code, 1);
  assertMatch(
    wrongKey.stderr,
    /the manifest of run run-v-1: .*cannot be opened with this agent key/,
  );
  assertEquals(wrongKey.stderr.includes(otherKey), false);

  // dump-state shows the manifest only as sealed bytes.
  const dumped = await runAgent(["dump-state", "--allow-secrets"], env);
  assertEquals(dumped.code, 0, dumped.stderr);
  const stateJson = JSON.parse(new TextDecoder().decode(dumped.stdout));
  assertEquals(stateJson.manifests.length, 1);
  assertMatch(stateJson.manifests[0].manifest, /^<sealed \d+ bytes>$/);

  assertEquals((await agent.stop("SIGTERM")).code, 0);
  assertNoSecrets(agent.lines, [
    TEST_AGENT_KEY,
    dek.toHex(),
    dek.toBase64(),
    command.uploadCreds!.presignedPutUrl,
  ]);
});

/** Databases `role` owns: the scratch databases the agent made as that role. */
function databasesOf(role: string): Promise<string> {
  return psql(
    `SELECT string_agg(d.datname, ',') FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
      WHERE r.rolname = '${role}'`,
  );
}

Deno.test("BACKUPY_VERIFY_RESTORE_CRON: each job's latest backup is restored for real on schedule; what cannot be restored is named", async () => {
  await using dir = await tempDir("backupy-agent-restore-cron-");
  await using s3 = await S3Server.start();
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 2000);
  const source = `backupy_cron_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
  await psql(`CREATE DATABASE ${source}`);
  await psql(
    "CREATE TABLE notes (id int PRIMARY KEY, body text, at timestamptz); " +
      "INSERT INTO notes SELECT i, 'note ' || i, '2026-01-01'::timestamptz + i * interval '1 hour' " +
      "FROM generate_series(1, 500) i",
    source,
  );
  await mariadb(`CREATE DATABASE ${source}; CREATE TABLE ${source}.t (id INT PRIMARY KEY)`);
  // A key of this test's own in a database no other test uses: a Redis that other tests
  // emptied would give a snapshot with no keys, and so no manifest.
  const redisKey = `backupy-cron-${crypto.randomUUID()}`;
  await redisCli("-n", "14", "SET", redisKey, "1");
  // A scratch role of this test's own, so other tests' scratch databases are not counted.
  const scratchRole = `backupy_scratch_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
  await psql(`CREATE ROLE ${scratchRole} LOGIN CREATEDB PASSWORD '${TEST_PASSWORD}'`);
  try {
    const target = (id: string, type: DbType, connection: object) =>
      create(TargetSchema, { id, type, connection: create(ConnectionConfigSchema, connection) });
    const job = (id: string, targetId: string) =>
      create(BackupJobSpecSchema, {
        id,
        targetId,
        cron: "0 3 * * *",
        compression: "zstd",
        encryptionEnabled: true,
        retry: create(RetryPolicySchema, { maxAttempts: 1 }),
      });
    const config = create(AgentConfigSchema, {
      version: 1n,
      targets: [
        target("t-sqlite", DbType.SQLITE, {
          database,
          strategy: ConnectionStrategy.TCP,
        }),
        target("t-pg", DbType.POSTGRESQL, {
          host: "127.0.0.1",
          port: 5432,
          username: "backupy",
          passwordSecretRef: TEST_PASSWORD,
          database: source,
        }),
        target("t-maria", DbType.MARIADB, {
          host: "127.0.0.1",
          port: 3306,
          username: "backupy",
          passwordSecretRef: TEST_PASSWORD,
          database: source,
        }),
        target("t-redis", DbType.REDIS, { host: "127.0.0.1", port: 6379 }),
      ],
      jobs: [
        job("job-sqlite", "t-sqlite"),
        job("job-pg", "t-pg"),
        job("job-maria", "t-maria"),
        job("job-maria-2", "t-maria"),
        job("job-redis", "t-redis"),
      ],
    });
    await using server = new ControlPlane({ agentKey: TEST_AGENT_KEY, config });
    const state = stateDirIn(dir.path);
    await using agent = AgentProcess.start(
      {
        BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
        BACKUPY_SERVER_URL: server.url,
        BACKUPY_VERIFY_RESTORE_CRON: "0 4 * * sun",
        // PostgreSQL jobs restore on the test server, job-maria in a throwaway container;
        // job-maria-2 has nowhere to go and is named for it.
        BACKUPY_VERIFY_SCRATCH: `*=postgres://${scratchRole}:${TEST_PASSWORD}@127.0.0.1:5432/ ` +
          `job-maria=docker-image:${IMAGES.mariadb}`,
      },
      state,
      { ...FAST_TUNING, restoreVerifyEveryMs: 1500 },
    );
    await server.waitFor("Register", () => server.payloads("register")[0]);

    const deks: Uint8Array[] = [];
    for (const jobId of ["job-sqlite", "job-pg", "job-maria", "job-maria-2", "job-redis"]) {
      const dek = crypto.getRandomValues(new Uint8Array(32));
      deks.push(dek);
      server.send({
        case: "runBackup",
        value: await runBackupCommand(s3, `run-${jobId}`, { jobId, dek }),
      });
    }
    await server.waitFor(
      "five BackupCompleted",
      () => server.payloads("backupCompleted").length === 5,
      90_000,
    );
    const events = (jobId: string) => server.payloads("log").filter((e) => e.jobId === jobId);
    for (const jobId of ["job-sqlite", "job-pg", "job-maria"]) {
      const proved = await server.waitFor(
        `${jobId} restored`,
        () => events(jobId).find((e) => e.message === "backup verified: level restore proved"),
        60_000,
      );
      assertEquals(proved.level, LogLevel.INFO);
      assertEquals(proved.fields.run_id, `run-${jobId}`);
      assertMatch(
        proved.fields.checks,
        /restore ok: restored .*in [\d.]+ s \([\d.]+ MiB\) and read back/,
      );
    }
    const redis = await server.waitFor(
      "the Redis job named",
      () => events("job-redis").find((e) => e.message.startsWith("not restored")),
    );
    assertEquals(redis.level, LogLevel.WARN);
    // Redis restores on a scratch server of its own, and this test gives it none.
    assertMatch(redis.message, /no scratch server for this job \(BACKUPY_VERIFY_SCRATCH\)/);
    assertMatch(
      events("job-maria").find((e) => e.level === LogLevel.INFO)!.fields.checks,
      /restored in a container of mariadb:backupy-test/,
    );
    const maria = await server.waitFor(
      "the second MariaDB job named",
      () => events("job-maria-2").find((e) => e.message.startsWith("not restored")),
    );
    assertMatch(maria.message, /no scratch server for this job \(BACKUPY_VERIFY_SCRATCH\)/);

    const metrics = await scrapeMetrics(state);
    for (const jobId of ["job-sqlite", "job-pg", "job-maria"]) {
      assertMatch(
        metrics,
        new RegExp(
          `backupy_agent_last_verified_timestamp_seconds\\{job_id="${jobId}",level="restore"\\} \\d`,
        ),
      );
    }
    assert(!/backupy_agent_verify_failures_total\{/.test(metrics), metrics);

    // One kept file per job; a newer backup replaces its job's.
    const kept = () => [...Deno.readDirSync(join(state, "latest"))].map((e) => e.name).sort();
    assertEquals(kept().length, 5);
    server.send({
      case: "runBackup",
      value: await runBackupCommand(s3, "run-job-sqlite-2", { jobId: "job-sqlite" }),
    });
    await server.waitFor(
      "the sixth BackupCompleted",
      () => server.payloads("backupCompleted").length === 6,
      60_000,
    );
    await server.waitFor(
      "the newer backup restored",
      () =>
        events("job-sqlite").find((e) =>
          e.fields.run_id === "run-job-sqlite-2" && e.level === LogLevel.INFO
        ),
      60_000,
    );
    assertEquals(kept().filter((name) => name.startsWith("job-sqlite")), [
      "job-sqlite-run-job-sqlite-2.enc",
    ]);

    assertEquals((await agent.stop("SIGTERM")).code, 0);
    assertEquals(await databasesOf(scratchRole), "", "every scratch database was dropped");
    assertNoSecrets(agent.lines, [
      TEST_AGENT_KEY,
      TEST_PASSWORD,
      ...deks.flatMap((dek) => [dek.toHex(), dek.toBase64()]),
    ]);
  } finally {
    await psql(`DROP DATABASE IF EXISTS ${source}`);
    await mariadb(`DROP DATABASE IF EXISTS ${source}`);
    await psql(`DROP ROLE IF EXISTS ${scratchRole}`);
    await redisCli("-n", "14", "DEL", redisKey);
  }
});

/** Runs redis-cli against the test server; throws when it fails. */
async function redisCli(...args: string[]): Promise<void> {
  const out = await new Deno.Command("redis-cli", { args, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

Deno.test("BACKUPY_VERIFY_RESTORE_CRON: SIGTERM in the middle of a scheduled restore still drops the scratch database", async () => {
  await using dir = await tempDir("backupy-agent-restore-sigterm-");
  await using s3 = await S3Server.start();
  const source = `backupy_cron_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
  const scratchRole = `backupy_scratch_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
  await psql(`CREATE DATABASE ${source}`);
  await psql(`CREATE ROLE ${scratchRole} LOGIN CREATEDB PASSWORD '${TEST_PASSWORD}'`);
  try {
    await psql(
      "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS s FROM generate_series(1, 800000) g",
      source,
    );
    const config = create(AgentConfigSchema, {
      version: 1n,
      targets: [create(TargetSchema, {
        id: "t-pg",
        type: DbType.POSTGRESQL,
        connection: create(ConnectionConfigSchema, {
          host: "127.0.0.1",
          port: 5432,
          username: "backupy",
          passwordSecretRef: TEST_PASSWORD,
          database: source,
        }),
      })],
      jobs: [create(BackupJobSpecSchema, {
        id: "job-pg",
        targetId: "t-pg",
        compression: "zstd",
        encryptionEnabled: true,
        retry: create(RetryPolicySchema, { maxAttempts: 1 }),
      })],
    });
    await using server = new ControlPlane({ agentKey: TEST_AGENT_KEY, config });
    await using agent = AgentProcess.start(
      {
        BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
        BACKUPY_SERVER_URL: server.url,
        BACKUPY_VERIFY_RESTORE_CRON: "0 4 * * *",
        BACKUPY_VERIFY_SCRATCH: `job-pg=postgres://${scratchRole}:${TEST_PASSWORD}@127.0.0.1:5432/`,
      },
      stateDirIn(dir.path),
      { ...FAST_TUNING, restoreVerifyEveryMs: 500 },
    );
    await server.waitFor("Register", () => server.payloads("register")[0]);
    server.send({
      case: "runBackup",
      value: await runBackupCommand(s3, "run-big", { jobId: "job-pg" }),
    });
    await server.waitFor("BackupCompleted", () => server.payloads("backupCompleted")[0], 60_000);
    const deadline = Date.now() + 60_000;
    while ((await databasesOf(scratchRole)) === "") {
      assert(Date.now() < deadline, "the scheduled restore never started");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const status = await agent.stop("SIGTERM");
    assertEquals(status.code, 0, agent.lines.slice(-5).join("\n"));
    assertEquals(await databasesOf(scratchRole), "", "the scratch database was dropped");
  } finally {
    await psql(`DROP DATABASE IF EXISTS ${source} WITH (FORCE)`);
    await psql(`DROP ROLE IF EXISTS ${scratchRole}`);
  }
});
