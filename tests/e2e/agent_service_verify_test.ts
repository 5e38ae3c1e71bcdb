/**
 * Service mode's verification after every backup (BACKUPY_VERIFY): the
 * backup is reported first, then verified; the result reaches the server
 * as a LogEvent and the metrics; the manifest is kept in the state store,
 * and `backupy-agent manifest` hands it out so a downloaded backup can be
 * verified offline with its token.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { join } from "node:path";
import { LogLevel } from "@backupy/gen/backup/v1/common_pb.ts";
import { AgentProcess, scrapeMetrics } from "../support/agent_process.ts";
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
  // The staged file was the verifier's to remove.
  assertEquals([...Deno.readDirSync(join(state, "staging"))].filter((e) => e.isFile), []);

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
