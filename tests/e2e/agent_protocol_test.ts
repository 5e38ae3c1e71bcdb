/**
 * The agent's side of the wire protocol against the test control plane:
 * acks, bad and oversize frames, unknown payloads, malformed commands,
 * config versions, cancel, health checks, self-update, 401, a silent server.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { join } from "node:path";
import { CheckType, JobStatus } from "@backupy/gen/backup/v1/common_pb.ts";
import { EnvelopeSchema } from "@backupy/gen/backup/v1/envelope_pb.ts";
import {
  CancelJobSchema,
  ConfigUpdateSchema,
  HealthCheckSpecSchema,
  PingSchema,
  RunHealthCheckSchema,
  SelfUpdateSchema,
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
import { assertNoSecrets } from "../support/secret_scan.ts";
import { UploadEndpoint } from "../support/upload_endpoint.ts";

async function setup(
  options: {
    config?: ReturnType<typeof sqliteConfig>;
    tuning?: unknown;
    heartbeatIntervalSec?: number;
  } = {},
) {
  const dir = await tempDir("backupy-agent-proto-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 100);
  const server = new ControlPlane({
    agentKey: TEST_AGENT_KEY,
    config: options.config ?? sqliteConfig(database),
    heartbeatIntervalSec: options.heartbeatIntervalSec,
    pingEveryMs: options.heartbeatIntervalSec ? 300 : undefined,
  });
  const agent = AgentProcess.start(
    { BACKUPY_AGENT_KEY: TEST_AGENT_KEY, BACKUPY_SERVER_URL: server.url },
    stateDirIn(dir.path),
    options.tuning,
  );
  await server.waitFor("the handshake", () => server.payloads("heartbeat").length > 0);
  return {
    dir,
    database,
    server,
    agent,
    async [Symbol.asyncDispose]() {
      await agent[Symbol.asyncDispose]();
      await server[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

function ackFor(server: ControlPlane, correlationId: string) {
  return server.waitFor(`Ack ${correlationId}`, () => {
    const found = server.received.find((r) =>
      r.envelope.payload.case === "ack" && r.envelope.correlationId === correlationId
    );
    return found?.envelope.payload.case === "ack" ? found.envelope.payload.value : undefined;
  });
}

Deno.test("ping gets an Ack with the same correlation_id; seq strictly increases", async () => {
  await using t = await setup();
  t.server.send({ case: "ping", value: create(PingSchema, { tsMs: 1n }) }, "p1");
  const ack = await ackFor(t.server, "p1");
  assertEquals(ack.accepted, true);
  assertEquals(ack.correlationId, "p1");
  t.server.send({ case: "ping", value: create(PingSchema) }, "p2");
  await ackFor(t.server, "p2");
  const seqs = t.server.received.map((r) => r.envelope.seq);
  for (let i = 1; i < seqs.length; i++) {
    assert(seqs[i] > seqs[i - 1], `seq ${seqs[i]} after ${seqs[i - 1]}`);
  }
});

Deno.test("a malformed frame and a text message are dropped, the connection stays", async () => {
  await using t = await setup();
  t.server.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]));
  t.server.sendRaw("hello, text");
  t.server.send({ case: "ping", value: create(PingSchema) }, "after-bad");
  await ackFor(t.server, "after-bad");
  assertEquals(t.server.connections, 1);
  assert(t.agent.lines.some((l) => l.includes("not a valid Envelope")));
  const metrics = await scrapeMetrics(t.agent.stateDir);
  assertMatch(metrics, /backupy_agent_wss_bad_frames_total 1/);
});

Deno.test("a message over 4 MiB closes with 1009 and the agent reconnects", async () => {
  await using t = await setup();
  const huge = toBinary(
    EnvelopeSchema,
    create(EnvelopeSchema, { correlationId: "x".repeat(4 * 1024 * 1024 + 10) }),
  );
  t.server.sendRaw(huge);
  await t.server.waitFor("a reconnect", () => t.server.connections >= 2);
  assertEquals(t.server.closeCodes[0], 1009);
  await t.server.waitFor("a second handshake", () => t.server.payloads("register").length >= 2);
});

Deno.test("an unknown payload tag is not fatal and gets a negative Ack", async () => {
  await using t = await setup();
  // Envelope{correlation_id: "u1", field 58 (unknown payload): empty}
  t.server.sendRaw(new Uint8Array([0x1a, 0x02, 0x75, 0x31, 0xd2, 0x03, 0x00]));
  const ack = await ackFor(t.server, "u1");
  assertEquals(ack.accepted, false);
  assertStringIncludes(ack.reason, "unknown payload");
  assertEquals(t.server.connections, 1);
});

Deno.test("RunBackup for an unknown job and with a 16-byte DEK: negative Ack and FAILED", async () => {
  await using t = await setup();
  await using endpoint = new UploadEndpoint([{ status: 200 }]);
  const unknown = await runBackupCommand(null, "run-unknown", {
    jobId: "nope",
    url: endpoint.url("a"),
  });
  t.server.send({ case: "runBackup", value: unknown }, "c-unknown");
  const ack1 = await ackFor(t.server, "c-unknown");
  assertEquals(ack1.accepted, false);
  assertStringIncludes(ack1.reason, 'unknown job_id "nope"');

  const shortDek = await runBackupCommand(null, "run-dek16", {
    dek: new Uint8Array(16),
    url: endpoint.url("b"),
  });
  t.server.send({ case: "runBackup", value: shortDek }, "c-dek");
  const ack2 = await ackFor(t.server, "c-dek");
  assertEquals(ack2.accepted, false);
  assertStringIncludes(ack2.reason, "DEK of the wrong length: 16 bytes, 32 expected");

  const expired = await runBackupCommand(null, "run-expired", {
    url: endpoint.url("c"),
    expiresInSec: -10,
  });
  t.server.send({ case: "runBackup", value: expired }, "c-expired");
  assertStringIncludes((await ackFor(t.server, "c-expired")).reason, "the upload URL expired at");

  for (const runId of ["run-unknown", "run-dek16", "run-expired"]) {
    const failed = await t.server.waitFor(
      `FAILED for ${runId}`,
      () =>
        t.server.payloads("jobUpdate").find((u) =>
          u.runId === runId && u.status === JobStatus.FAILED
        ),
    );
    assert(failed.errorMessage.length > 0);
  }
  assertEquals(endpoint.requests.length, 0, "nothing was uploaded");
});

Deno.test("config_update: older versions are refused, newer ones applied and reported", async () => {
  await using t = await setup();
  const config = sqliteConfig(t.database, 5n);
  t.server.send({ case: "configUpdate", value: create(ConfigUpdateSchema, { config }) }, "cfg5");
  assertEquals((await ackFor(t.server, "cfg5")).accepted, true);
  t.server.send({
    case: "configUpdate",
    value: create(ConfigUpdateSchema, { config: sqliteConfig(t.database, 3n) }),
  }, "cfg3");
  const older = await ackFor(t.server, "cfg3");
  assertEquals(older.accepted, false);
  assertStringIncludes(older.reason, "older than the applied 5");
  const metrics = await scrapeMetrics(t.agent.stateDir);
  assertMatch(metrics, /backupy_agent_config_version 5/);
});

Deno.test("self_update is refused with a reason when not a standalone binary", async () => {
  await using t = await setup();
  t.server.send(
    { case: "selfUpdate", value: create(SelfUpdateSchema, { targetVersion: "9.9.9" }) },
    "su",
  );
  const ack = await ackFor(t.server, "su");
  assertEquals(ack.accepted, false);
  assert(ack.reason.length > 10, ack.reason);
});

Deno.test("run_health_check runs a configured TCP check; an unknown one is refused", async () => {
  const dir = await tempDir("backupy-agent-hc-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 10);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const connection of listener) connection.close();
  })();
  const config = sqliteConfig(database);
  config.healthChecks = [
    create(HealthCheckSpecSchema, {
      id: "hc-tcp",
      name: "local port",
      type: CheckType.TCP_CHECK,
      target: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
      intervalSec: 3600,
      timeoutSec: 2,
    }),
    create(HealthCheckSpecSchema, {
      id: "hc-http",
      type: CheckType.HTTP,
      target: "http://127.0.0.1:1/",
      intervalSec: 3600,
      timeoutSec: 2,
    }),
  ];
  await using t = await setup({ config });
  t.server.send({
    case: "runHealthCheck",
    value: create(RunHealthCheckSchema, { checkId: "hc-tcp" }),
  }, "h1");
  assertEquals((await ackFor(t.server, "h1")).accepted, true);
  const result = await t.server.waitFor(
    "a result",
    () => t.server.payloads("healthResult").find((r) => r.checkId === "hc-tcp"),
  );
  assertEquals(result.ok, true);
  t.server.send({
    case: "runHealthCheck",
    value: create(RunHealthCheckSchema, { checkId: "hc-http" }),
  }, "h2");
  const down = await t.server.waitFor(
    "a failed result",
    () => t.server.payloads("healthResult").find((r) => r.checkId === "hc-http"),
  );
  assertEquals(down.ok, false);
  assert(down.error.length > 0);
  t.server.send({
    case: "runHealthCheck",
    value: create(RunHealthCheckSchema, { checkId: "nope" }),
  }, "h3");
  assertEquals((await ackFor(t.server, "h3")).accepted, false);
  listener.close();
  await accepting.catch(() => {});
  await dir[Symbol.asyncDispose]();
});

Deno.test("cancel_job kills the run's process group and reports CANCELLED", async () => {
  const dir = await tempDir("backupy-agent-cancel-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 10);
  const marker = `${Math.floor(Math.random() * 1e6) + 1000}`;
  const config = sqliteConfig(database, 1n, [{
    preHooks: [`sleep 6${marker} & sleep 7${marker}`],
  }]);
  await using t = await setup({ config, heartbeatIntervalSec: 1 });
  await using endpoint = new UploadEndpoint([{ status: 200 }]);
  const command = await runBackupCommand(null, "run-cancel", { url: endpoint.url("x") });
  t.server.send({ case: "runBackup", value: command }, "r");
  await t.server.waitFor(
    "the hook step",
    () =>
      t.server.payloads("jobUpdate").find((u) =>
        u.runId === "run-cancel" && u.currentStep === "hooks"
      ),
  );
  // The run shows in heartbeats while it is active.
  await t.server.waitFor(
    "active_job_ids",
    () => t.server.payloads("heartbeat").some((h) => h.activeJobIds.includes("job-1")),
    40_000,
  );
  t.server.send(
    { case: "cancelJob", value: create(CancelJobSchema, { jobId: "job-1" }) },
    "cancel",
  );
  assertEquals((await ackFor(t.server, "cancel")).accepted, true);
  const cancelled = await t.server.waitFor(
    "CANCELLED",
    () =>
      t.server.payloads("jobUpdate").find((u) =>
        u.runId === "run-cancel" && u.status === JobStatus.CANCELLED
      ),
  );
  assertStringIncludes(cancelled.errorMessage, "cancelled");
  const ps = await new Deno.Command("pgrep", { args: ["-f", `sleep [67]${marker}`] }).output();
  assertEquals(new TextDecoder().decode(ps.stdout).trim(), "", "the hook's processes are gone");
  assertEquals(endpoint.requests.length, 0);
  await dir[Symbol.asyncDispose]();
});

Deno.test("a 401 is logged once as a rejected key, counted, and retried at the cap", async () => {
  await using dir = await tempDir("backupy-agent-401-");
  await using server = new ControlPlane({
    agentKey: "bkpy_test_someOtherKeyxxxxxxxxxxxxxxxxxxxxx",
  });
  await using agent = AgentProcess.start(
    { BACKUPY_AGENT_KEY: TEST_AGENT_KEY, BACKUPY_SERVER_URL: server.url },
    stateDirIn(dir.path),
    { ...FAST_TUNING, session: { ...FAST_TUNING.session, backoff: { initialMs: 10, capMs: 300 } } },
  );
  await server.waitFor("three attempts", () => server.attempts >= 3, 20_000);
  const started = Date.now();
  const before = server.attempts;
  await new Promise((r) => setTimeout(r, 1500));
  const rate = (server.attempts - before) / ((Date.now() - started) / 1000);
  assert(rate < 6, `retried ${rate.toFixed(1)}/s: must wait the capped backoff, not spin`);
  const rejected = agent.lines.filter((l) => l.includes("agent key rejected by server"));
  assertEquals(rejected.length, 1, "logged once");
  assertMatch(
    await scrapeMetrics(agent.stateDir),
    /backupy_agent_wss_key_rejected_total [3-9]|[1-9]\d+/,
  );
  await agent.stop();
  assertNoSecrets(agent.lines, [TEST_AGENT_KEY]);
});

Deno.test("no RegisterAck in time: the agent closes with 1008 and tries again", async () => {
  await using dir = await tempDir("backupy-agent-silent-");
  await using server = new ControlPlane({ agentKey: TEST_AGENT_KEY, silent: true });
  await using agent = AgentProcess.start(
    { BACKUPY_AGENT_KEY: TEST_AGENT_KEY, BACKUPY_SERVER_URL: server.url },
    stateDirIn(dir.path),
    { ...FAST_TUNING, session: { ...FAST_TUNING.session, registerTimeoutMs: 300 } },
  );
  await server.waitFor("a second connection", () => server.connections >= 2, 20_000);
  assertEquals(server.closeCodes[0], 1008);
  assertEquals(server.payloads("heartbeat").length, 0, "no traffic before RegisterAck");
  void agent;
});
