/**
 * Reliability of the agent service: dropped connections, SIGKILL during an
 * upload, hundreds of reconnects with messages in flight, S3 failures,
 * retries, timeouts, hooks, and a graceful shutdown. Every accepted run ends
 * with exactly one terminal message, and no secret reaches a log or metric.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { toBinary } from "@bufbuild/protobuf";
import { EnvelopeSchema } from "@backupy/gen/backup/v1/envelope_pb.ts";
import { join } from "node:path";
import { JobStatus } from "@backupy/gen/backup/v1/common_pb.ts";
import { AgentProcess, FAST_TUNING, scrapeMetrics } from "../support/agent_process.ts";
import {
  type JobOptions,
  makeSqliteDatabase,
  runBackupCommand,
  sqliteConfig,
  stateDirIn,
  tempDir,
  TEST_AGENT_KEY,
} from "../support/agent_fixtures.ts";
import { ControlPlane } from "../support/control_plane.ts";
import { assertNoSecrets } from "../support/secret_scan.ts";
import { S3Server } from "../support/s3_server.ts";
import { type Answer, UploadEndpoint } from "../support/upload_endpoint.ts";
import { sha256Hex } from "../support/v1_fixtures.ts";

/** Everything a test needs, disposed together. */
async function setup(
  options: { jobs?: JobOptions[]; rows?: number; tuning?: unknown; pingEveryMs?: number } = {},
) {
  const dir = await tempDir("backupy-agent-rel-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, options.rows ?? 2000);
  const server = new ControlPlane({
    agentKey: TEST_AGENT_KEY,
    config: sqliteConfig(database, 1n, options.jobs ?? [{}]),
    pingEveryMs: options.pingEveryMs,
  });
  const state = stateDirIn(dir.path);
  const env = { BACKUPY_AGENT_KEY: TEST_AGENT_KEY, BACKUPY_SERVER_URL: server.url };
  const t = {
    dir,
    database,
    server,
    state,
    agent: AgentProcess.start(env, state, options.tuning ?? FAST_TUNING),
    /** Starts the agent again on the same state directory. */
    restart() {
      t.agent = AgentProcess.start(env, state, options.tuning ?? FAST_TUNING);
      return t.agent;
    },
    async [Symbol.asyncDispose]() {
      await t.agent[Symbol.asyncDispose]();
      await server[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
  await server.waitFor("the handshake", () => server.payloads("heartbeat").length > 0);
  return t;
}

/** Terminal messages for `runId`, counted once per seq (servers drop duplicates by seq). */
function terminals(server: ControlPlane, runId: string) {
  const seen = new Map<bigint, string>();
  for (const { envelope } of server.received) {
    const p = envelope.payload;
    if (p.case === "backupCompleted" && p.value.runId === runId) {
      seen.set(envelope.seq, "completed");
    }
    if (
      p.case === "jobUpdate" && p.value.runId === runId &&
      (p.value.status === JobStatus.FAILED || p.value.status === JobStatus.CANCELLED)
    ) seen.set(envelope.seq, JobStatus[p.value.status]);
  }
  return [...seen.values()];
}

Deno.test("the server drops the connection mid-run: the backup completes, reported once", async () => {
  await using s3 = await S3Server.start();
  await using t = await setup({ jobs: [{ preHooks: ["sleep 1"] }] });
  const command = await runBackupCommand(s3, "run-drop");
  t.server.send({ case: "runBackup", value: command });
  await t.server.waitFor(
    "the run to start",
    () => t.server.payloads("jobUpdate").some((u) => u.runId === "run-drop"),
  );
  t.server.drop(); // runs are not tied to the connection
  await t.server.waitFor(
    "BackupCompleted",
    () => terminals(t.server, "run-drop").length > 0,
    60_000,
  );
  assert(t.server.connections >= 2, "reconnected");
  await new Promise((r) => setTimeout(r, 500));
  assertEquals(terminals(t.server, "run-drop"), ["completed"]);
  const completed = t.server.payloads("backupCompleted")[0];
  assertEquals(sha256Hex((await s3.get(completed.s3Key))!), completed.sha256);
});

Deno.test("SIGKILL during the upload, restart: the run ends with one terminal message", async () => {
  // The first PUT is held (the agent is killed meanwhile); the retry after restart succeeds.
  await using endpoint = new UploadEndpoint([{ status: 200, delayMs: 60_000 }, { status: 200 }]);
  await using t = await setup();
  const command = await runBackupCommand(null, "run-kill", { url: endpoint.url("k1") });
  t.server.send({ case: "runBackup", value: command });
  await endpoint.waitForRequests(1);
  const killed = await t.agent.stop("SIGKILL");
  assertEquals(killed.signal, "SIGKILL");
  // The staged file of the cut attempt is left; the restart removes it.
  t.restart();
  await t.server.waitFor(
    "a terminal message",
    () => terminals(t.server, "run-kill").length > 0,
    60_000,
  );
  await new Promise((r) => setTimeout(r, 500));
  assertEquals(terminals(t.server, "run-kill"), ["completed"]);
  assertEquals(endpoint.requests.length, 2);
  const completed = t.server.payloads("backupCompleted").find((c) => c.runId === "run-kill")!;
  assertEquals(sha256Hex(endpoint.requests[1].body), completed.sha256);
  assertEquals(Number(completed.sizeBytes), endpoint.requests[1].bytes);
  const staging = [...Deno.readDirSync(join(t.state, "staging"))];
  assertEquals(staging.length, 0, "no staged file left behind");
});

Deno.test("SIGKILL mid-run with an upload URL about to expire: FAILED 'agent restarted during run'", async () => {
  await using endpoint = new UploadEndpoint([{ status: 200, delayMs: 60_000 }]);
  await using t = await setup();
  const command = await runBackupCommand(null, "run-kill-exp", {
    url: endpoint.url("k2"),
    expiresInSec: 30,
  });
  t.server.send({ case: "runBackup", value: command });
  await endpoint.waitForRequests(1);
  await t.agent.stop("SIGKILL");
  t.restart();
  await t.server.waitFor(
    "a terminal message",
    () => terminals(t.server, "run-kill-exp").length > 0,
    30_000,
  );
  const failed = t.server.payloads("jobUpdate").find((u) =>
    u.runId === "run-kill-exp" && u.status === JobStatus.FAILED
  )!;
  assertEquals(failed.errorMessage, "agent restarted during run");
  assertEquals(terminals(t.server, "run-kill-exp").length, 1);
});

Deno.test("200 disconnect/reconnect cycles with messages in flight lose none", async () => {
  await using endpoint = new UploadEndpoint([{ status: 200 }]);
  await using t = await setup({
    tuning: {
      ...FAST_TUNING,
      session: { ...FAST_TUNING.session, backoff: { initialMs: 2, capMs: 10 } },
    },
  });
  const cycles = 200;
  const runIds: string[] = [];
  for (let cycle = 0; cycle < cycles; cycle++) {
    // The handshake is done once this connection's Register was answered.
    await t.server.waitFor(`handshake ${cycle + 1}`, () =>
      t.server.connected &&
      t.server.received.some((r) =>
        r.connection === t.server.connections && r.envelope.payload.case === "register"
      ));
    // A RunBackup for an unknown job: its FAILED JobUpdate goes through the
    // outbox. Once its Ack is back the update is queued or on the wire, and
    // the connection is cut right then, with it in flight.
    const runId = `run-cycle-${cycle}`;
    runIds.push(runId);
    t.server.send(
      {
        case: "runBackup",
        value: await runBackupCommand(null, runId, { jobId: "nope", url: endpoint.url(runId) }),
      },
      `c-${runId}`,
    );
    await t.server.waitFor(
      `the Ack of ${runId}`,
      () => t.server.payloads("ack").some((a) => a.correlationId === `c-${runId}`),
    );
    t.server.drop(1011, "cycle");
  }
  await t.server.waitFor(
    "every run's terminal message",
    () => runIds.every((id) => terminals(t.server, id).length > 0),
    60_000,
  ).catch((error) => {
    const missing = runIds.filter((id) => terminals(t.server, id).length === 0);
    throw new Error(`${error.message}: missing ${missing.join(", ")}`);
  });
  for (const id of runIds) assertEquals(terminals(t.server, id), ["FAILED"], id);
  assert(t.server.connections >= cycles, `${t.server.connections} connections`);
  // A seq never names two different messages: a duplicate is a resend of the same one.
  const bySeq = new Map<bigint, string>();
  let resent = 0;
  for (const { envelope } of t.server.received) {
    const bytes = toBinary(EnvelopeSchema, envelope).toHex();
    const seen = bySeq.get(envelope.seq);
    if (seen !== undefined) {
      assertEquals(seen, bytes, `seq ${envelope.seq} reused`);
      resent++;
    }
    bySeq.set(envelope.seq, bytes);
  }
  console.log(
    `reliability: ${cycles} cycles, ${runIds.length} runs, ${t.server.connections} connections, ` +
      `${resent} messages resent after a close, none lost`,
  );
});

Deno.test("S3 answers 500 then 200: the upload is retried with Content-Length, not chunked", async () => {
  await using endpoint = new UploadEndpoint([{ status: 500 }, { status: 200 }]);
  await using t = await setup();
  const command = await runBackupCommand(null, "run-500", { url: endpoint.url("r500") });
  t.server.send({ case: "runBackup", value: command });
  await t.server.waitFor(
    "BackupCompleted",
    () => terminals(t.server, "run-500").length > 0,
    60_000,
  );
  assertEquals(terminals(t.server, "run-500"), ["completed"]);
  assertEquals(endpoint.requests.length, 2);
  for (const request of endpoint.requests) {
    assertEquals(request.method, "PUT");
    assertEquals(request.transferEncoding, null);
    assertEquals(request.contentLength, String(request.bytes));
    assertEquals(request.contentType, "application/octet-stream");
  }
  const metrics = await scrapeMetrics(t.state);
  assertMatch(metrics, /backupy_agent_upload_retries_total 1/);
  assertMatch(metrics, /backupy_agent_runs_total\{job_id="job-1",status="success"\} 1/);
  assertNoSecrets([metrics, ...t.agent.lines], [
    command.uploadCreds!.presignedPutUrl,
    TEST_AGENT_KEY,
  ]);
});

Deno.test("S3 answers 403: the run fails at once, the message has no signature", async () => {
  const answer: Answer = { status: 403, body: "<Error><Code>AccessDenied</Code></Error>" };
  await using endpoint = new UploadEndpoint([answer]);
  await using t = await setup({ jobs: [{ maxAttempts: 3, backoffSeconds: [1] }] });
  const command = await runBackupCommand(null, "run-403", { url: endpoint.url("r403") });
  t.server.send({ case: "runBackup", value: command });
  await t.server.waitFor("FAILED", () => terminals(t.server, "run-403").length > 0, 60_000);
  const failed = t.server.payloads("jobUpdate").find((u) =>
    u.runId === "run-403" && u.status === JobStatus.FAILED
  )!;
  assertStringIncludes(failed.errorMessage, "HTTP 403 (AccessDenied)");
  assert(!failed.errorMessage.includes("X-Amz-Signature"), failed.errorMessage);
  // 403 is not transient: no upload retry; the job's policy still tries 3 full attempts.
  assertEquals(endpoint.requests.length, 3);
  assertStringIncludes(failed.errorMessage, "attempt 3 of 3");
  assertNoSecrets(t.agent.lines, [command.uploadCreds!.presignedPutUrl]);
});

Deno.test("retry policy: a failed attempt is retried as a full new dump, then succeeds", async () => {
  // Four 500s exhaust the first attempt's upload retries; the second attempt succeeds.
  await using endpoint = new UploadEndpoint([{ status: 500 }, { status: 500 }, { status: 500 }, {
    status: 500,
  }, {
    status: 200,
  }]);
  await using t = await setup({ jobs: [{ maxAttempts: 2, backoffSeconds: [1] }] });
  const command = await runBackupCommand(null, "run-retry", { url: endpoint.url("rr") });
  t.server.send({ case: "runBackup", value: command });
  await t.server.waitFor(
    "BackupCompleted",
    () => terminals(t.server, "run-retry").length > 0,
    60_000,
  );
  assertEquals(terminals(t.server, "run-retry"), ["completed"]);
  assertEquals(endpoint.requests.length, 5);
  assert(
    t.server.payloads("jobUpdate").some((u) =>
      u.runId === "run-retry" && u.currentStep.startsWith("retrying")
    ),
  );
});

Deno.test("timeout_sec fails the run and kills its hook", async () => {
  await using endpoint = new UploadEndpoint([{ status: 200 }]);
  await using t = await setup({ jobs: [{ timeoutSec: 1, preHooks: ["sleep 30"] }] });
  const command = await runBackupCommand(null, "run-timeout", { url: endpoint.url("t") });
  const started = Date.now();
  t.server.send({ case: "runBackup", value: command });
  await t.server.waitFor("FAILED", () => terminals(t.server, "run-timeout").length > 0, 20_000);
  assert(Date.now() - started < 10_000, "the hook did not run its 30 s");
  const failed = t.server.payloads("jobUpdate").find((u) =>
    u.runId === "run-timeout" && u.status === JobStatus.FAILED
  )!;
  assertStringIncludes(failed.errorMessage, "timed out after 1 s");
  assertEquals(endpoint.requests.length, 0);
});

Deno.test("hooks: a failing pre-hook fails the run; post-hooks learn the outcome and cannot undo success", async () => {
  await using endpoint = new UploadEndpoint([{ status: 200 }]);
  const out = await Deno.makeTempFile();
  await using t = await setup({
    jobs: [
      { jobId: "job-pre-fails", preHooks: ["echo about to fail >&2; exit 3"] },
      {
        jobId: "job-post",
        postHooks: [
          `printf '%s %s %s %s %s' "$BACKUPY_RUN_STATUS" "$BACKUPY_RUN_ID" "$BACKUPY_JOB_ID" "$BACKUPY_SIZE_BYTES" "$BACKUPY_SHA256" > ${out}; env > ${out}.env`,
          "exit 9",
        ],
      },
    ],
  });
  t.server.send({
    case: "runBackup",
    value: await runBackupCommand(null, "run-pre", {
      jobId: "job-pre-fails",
      url: endpoint.url("p"),
    }),
  });
  await t.server.waitFor("FAILED", () => terminals(t.server, "run-pre").length > 0);
  const failed = t.server.payloads("jobUpdate").find((u) =>
    u.runId === "run-pre" && u.status === JobStatus.FAILED
  )!;
  assertStringIncludes(failed.errorMessage, "hook 1 exited with 3: about to fail");
  assertEquals(endpoint.requests.length, 0);

  t.server.send({
    case: "runBackup",
    value: await runBackupCommand(null, "run-post", { jobId: "job-post", url: endpoint.url("q") }),
  });
  await t.server.waitFor("completed", () => terminals(t.server, "run-post").length > 0, 60_000);
  assertEquals(terminals(t.server, "run-post"), ["completed"]);
  const completed = t.server.payloads("backupCompleted").find((c) => c.runId === "run-post")!;
  assertEquals(
    await Deno.readTextFile(out),
    `success run-post job-post ${completed.sizeBytes} ${completed.sha256}`,
  );
  // Hooks never see the agent key.
  assert(!(await Deno.readTextFile(`${out}.env`)).includes(TEST_AGENT_KEY));
  assert(t.agent.lines.some((l) => l.includes("post-hook failed")));
  // A run's WARN lines reach the server as LogEvents.
  const logEvent = await t.server.waitFor(
    "a LogEvent",
    () =>
      t.server.payloads("log").find((e) =>
        e.jobId === "job-post" && e.message === "post-hook failed"
      ),
  );
  assertEquals(logEvent.fields.run_id, "run-post");
  await Deno.remove(out);
  await Deno.remove(`${out}.env`);
});

Deno.test("SIGTERM: a running backup finishes within the grace period, then a clean close", async () => {
  await using s3 = await S3Server.start();
  await using t = await setup({ jobs: [{ preHooks: ["sleep 1"] }] });
  const command = await runBackupCommand(s3, "run-graceful");
  t.server.send({ case: "runBackup", value: command });
  await t.server.waitFor(
    "the hook step",
    () => t.server.payloads("jobUpdate").some((u) => u.runId === "run-graceful"),
  );
  const status = await t.agent.stop("SIGTERM");
  assertEquals(status.code, 0);
  assertEquals(terminals(t.server, "run-graceful"), ["completed"]);
  await t.server.waitFor("the close", () => t.server.closeCodes.length > 0);
  assertEquals(t.server.closeCodes.at(-1), 1000);
});

Deno.test("liveness: no data from the server for 3 heartbeat intervals means reconnect", async () => {
  await using dir = await tempDir("backupy-agent-live-");
  await using server = new ControlPlane({ agentKey: TEST_AGENT_KEY, heartbeatIntervalSec: 1 });
  await using agent = AgentProcess.start(
    { BACKUPY_AGENT_KEY: TEST_AGENT_KEY, BACKUPY_SERVER_URL: server.url },
    stateDirIn(dir.path),
  );
  await server.waitFor("the first session", () => server.payloads("heartbeat").length > 0);
  const started = Date.now();
  // The server sends nothing (no Ping): after ~3 s the agent gives the connection up.
  await server.waitFor("a reconnect", () => server.connections >= 2, 15_000);
  const waited = Date.now() - started;
  assert(waited >= 2500 && waited < 8000, `reconnected after ${waited} ms`);
  assert(agent.lines.some((l) => l.includes("no data from the server for 3 heartbeat intervals")));
});

Deno.test("one slot: the second run waits as QUEUED; a stalled upload fails the run as stalled", async () => {
  await using endpoint = new UploadEndpoint([{ status: 200, delayMs: 60_000 }]);
  const dir = await tempDir("backupy-agent-slots-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 50);
  await using server = new ControlPlane({
    agentKey: TEST_AGENT_KEY,
    config: sqliteConfig(database, 1n, [{ jobId: "job-a" }, { jobId: "job-b" }]),
  });
  await using agent = AgentProcess.start(
    {
      BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
      BACKUPY_SERVER_URL: server.url,
      BACKUPY_MAX_PARALLEL_JOBS: "1",
    },
    stateDirIn(dir.path),
    { ...FAST_TUNING, runs: { ...FAST_TUNING.runs, stallMs: 1500 } },
  );
  await server.waitFor("handshake", () => server.payloads("heartbeat").length > 0);
  server.send({
    case: "runBackup",
    value: await runBackupCommand(null, "run-a", { jobId: "job-a", url: endpoint.url("a") }),
  });
  await endpoint.waitForRequests(1);
  server.send({
    case: "runBackup",
    value: await runBackupCommand(null, "run-b", { jobId: "job-b", url: endpoint.url("b") }),
  });
  await server.waitFor(
    "QUEUED",
    () =>
      server.payloads("jobUpdate").find((u) =>
        u.runId === "run-b" && u.status === JobStatus.QUEUED
      ),
  );
  // run-a's upload never gets an answer: no byte of progress, so it fails as stalled.
  await server.waitFor("run-a stalled", () => terminals(server, "run-a").length > 0, 20_000);
  const failed = server.payloads("jobUpdate").find((u) =>
    u.runId === "run-a" && u.status === JobStatus.FAILED
  )!;
  assertStringIncludes(failed.errorMessage, "stalled: no progress for 2 s");
  // Then run-b gets the slot (and stalls the same way on this endpoint).
  await server.waitFor(
    "run-b started",
    () =>
      server.payloads("jobUpdate").some((u) =>
        u.runId === "run-b" && u.status === JobStatus.RUNNING
      ),
    20_000,
  );
  await agent.stop("SIGKILL");
  await dir[Symbol.asyncDispose]();
});
