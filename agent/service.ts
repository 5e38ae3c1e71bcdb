/**
 * `backupy-agent run`: the service. Wires the state store, the control
 * session, runs, health checks, metrics and logs together, and shuts down
 * gracefully on SIGTERM/SIGINT (docs/wire-protocol.md section 3, step 8).
 *
 * @module
 */
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { RegisterSchema } from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
import type { SelfUpdate } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { VERSION } from "../decrypt/version.ts";
import { CAPABILITIES } from "./capabilities.ts";
import { type AgentConfig, prepareStateDir } from "./config/agent_config.ts";
import { createDispatcher } from "./control/command_dispatch.ts";
import { DiscoveryLoop, type DiscoveryTiming } from "./docker/discovery_loop.ts";
import { discoveryReport } from "./docker/discovery_report.ts";
import { DockerHost } from "./docker/docker_host.ts";
import { ControlSession, type SessionTiming } from "./control/control_session.ts";
import { websocketUrl } from "./control/server_endpoint.ts";
import { HealthChecker } from "./health/health_checker.ts";
import { hookEnvironment } from "./hook_environment.ts";
import { HostMetrics } from "./host/host_metrics.ts";
import { HEALTH_META } from "./state/health_meta.ts";
import type { Logger } from "./log/logger.ts";
import { AgentMetrics } from "./metrics/agent_metrics.ts";
import { serveMetrics } from "./metrics/metrics_server.ts";
import { forwardRunLogs } from "./runs/run_log_forwarder.ts";
import { RunManager, type RunTiming } from "./runs/run_manager.ts";
import type { BackupVerifier } from "./runs/backup_verifier.ts";
import { ManifestStore } from "./state/manifest_store.ts";
import { LatestBackups } from "./state/latest_backups.ts";
import type { RestoreSchedule } from "./runs/restore_schedule.ts";
import { AppliedConfig } from "./state/applied_config.ts";
import { Outbox } from "./state/outbox.ts";
import { RunRecords } from "./state/run_records.ts";
import { StateStore } from "./state/state_store.ts";
import { currentUpdateEnvironment, selfUpdateRefusal } from "./update/self_update_policy.ts";
import { type Handoff, prepareUpdate, UpdateRejected, updateSetup } from "./update/self_update.ts";
import { LOG_LEVELS, type LogLevelName } from "./log/log_levels.ts";

/** Test hooks: shorter timings. Production uses the defaults. */
export interface ServiceTuning {
  session?: Partial<SessionTiming>;
  runs?: Partial<RunTiming>;
  discovery?: Partial<DiscoveryTiming>;
  shutdownGraceMs?: number;
  /** Restore verification this often instead of by BACKUPY_VERIFY_RESTORE_CRON. */
  restoreVerifyEveryMs?: number;
}

/** Where staged uploads and engine temporary files live. */
export function stagingDir(stateDir: string): string {
  return join(stateDir, "staging");
}

/** How the service ended: an exit code, or a verified update to hand over to. */
export interface ServiceExit {
  code: number;
  update?: { handoff: Handoff; healthTimeoutMs: number };
}

/** Runs the service until a signal or a self-update: build its parts, wire them, serve. */
export async function runService(
  config: AgentConfig,
  log: Logger,
  tuning: ServiceTuning =
    (JSON.parse(Deno.env.get("BACKUPY_TEST_TUNING") ?? "{}") as ServiceTuning),
): Promise<ServiceExit> {
  const state = await openState(config, log);
  const parts = await buildParts(config, log, tuning, state);
  const handoff = new UpdateHandoff();
  wireConfig(config, log, state, parts);
  await serveMetricsEndpoint(config, log, state, parts);
  const session = connect(config, log, tuning, state, parts, handoff);
  parts.runs.recover();
  session.start();
  log.info("agent started", {
    version: VERSION,
    state_dir: config.stateDir,
    verify_after_backup: config.verifyAfterBackup ?? "off",
    verify_restore: config.verifyRestoreCron ? "scheduled" : "off",
  });
  return await serveUntilStopped(log, tuning, state, parts, session, handoff);
}

/** The durable state: the store and what lives in it, and an empty staging directory. */
interface ServiceState {
  store: StateStore;
  outbox: Outbox;
  records: RunRecords;
  applied: AppliedConfig;
  staging: string;
  /** Ends the metrics server and marks the service unhealthy. */
  stop: AbortController;
  lastHeartbeatMs: number;
}

async function openState(config: AgentConfig, log: Logger): Promise<ServiceState> {
  prepareStateDir(config.stateDir);
  const store = StateStore.open(config.stateDir, {
    agentKey: config.agentKey,
    log: log.child("state"),
  });
  const staging = stagingDir(config.stateDir);
  // Staged files of runs cut short by a crash: never useful again.
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  await Deno.mkdir(staging, { recursive: true, mode: 0o700 });
  return {
    store,
    outbox: new Outbox(store),
    records: new RunRecords(store),
    applied: new AppliedConfig(store),
    staging,
    stop: new AbortController(),
    lastHeartbeatMs: 0,
  };
}

/** The service's working parts, before they are wired to the server. */
interface ServiceParts {
  metrics: AgentMetrics;
  host: HostMetrics;
  docker?: DockerHost;
  discovery?: DiscoveryLoop;
  verifier?: BackupVerifier;
  runs: RunManager;
  restoreSchedule?: RestoreSchedule;
  health: HealthChecker;
  /** Current parallelism: the environment's, or the server's advanced settings'. */
  parallel: { value: number };
  unforwardLogs: () => void;
}

async function buildParts(
  config: AgentConfig,
  log: Logger,
  tuning: ServiceTuning,
  state: ServiceState,
): Promise<ServiceParts> {
  const { store, outbox, staging } = state;
  const metrics = new AgentMetrics(
    () => outbox.depth,
    Deno.env.get("BACKUPY_BUILD_COMMIT") ?? "dev",
  );
  const unforwardLogs = forwardRunLogs(log, outbox);
  // BACKUPY_DISABLE_DISCOVERY ignores Docker entirely: no discovery, no DOCKER_EXEC.
  const docker = config.disableDiscovery ? undefined : new DockerHost(config.dockerSocket);
  const discovery = docker &&
    new DiscoveryLoop({
      docker,
      log: log.child("discovery"),
      timing: tuning.discovery,
      report: (found) => {
        metrics.discovered(found.length);
        outbox.enqueue({ case: "discovery", value: discoveryReport(found) });
      },
    });
  const verifying = config.verifyAfterBackup !== undefined ||
    config.verifyRestoreCron !== undefined;
  // Verification (and the format readers it brings) loads only when it is configured.
  const verifier = verifying
    ? new (await import("./runs/backup_verifier.ts")).BackupVerifier({
      log: log.child("runs"),
      metrics,
      tempDir: staging,
      docker,
    })
    : undefined;
  const latest = config.verifyRestoreCron ? new LatestBackups(store, config.stateDir) : undefined;
  const parallel = { value: config.maxParallelJobs };
  const runs = new RunManager({
    records: state.records,
    outbox,
    config: state.applied,
    log: log.child("runs"),
    metrics,
    engines: { tempDir: staging, containers: docker },
    stagingDir: staging,
    maxParallelJobs: () => parallel.value,
    hookEnv: hookEnvironment(),
    timing: tuning.runs,
    verifier,
    verifyAfterBackup: config.verifyAfterBackup,
    latest,
    manifests: new ManifestStore(store),
  });
  const restoreSchedule = config.verifyRestoreCron && verifier && latest
    ? new (await import("./runs/restore_schedule.ts")).RestoreSchedule({
      cron: config.verifyRestoreCron,
      latest,
      verifier,
      scratch: config.verifyScratch,
      jobExists: (jobId) => state.applied.job(jobId) !== undefined,
      log: log.child("runs"),
      workDir: staging,
      everyMs: tuning.restoreVerifyEveryMs,
    })
    : undefined;
  restoreSchedule?.start();
  return {
    metrics,
    host: new HostMetrics(config.stateDir),
    docker,
    discovery,
    verifier,
    runs,
    restoreSchedule,
    health: new HealthChecker(outbox, log.child("health"), metrics),
    parallel,
    unforwardLogs,
  };
}

/** Applies the server's configuration now and on every change: parallelism, log level, checks. */
function wireConfig(
  config: AgentConfig,
  log: Logger,
  state: ServiceState,
  parts: ServiceParts,
): void {
  const apply = () => {
    const current = state.applied.current;
    parts.metrics.configApplied(current.version);
    const advanced = current.advanced;
    parts.parallel.value = advanced && advanced.maxParallelJobs > 0
      ? advanced.maxParallelJobs
      : config.maxParallelJobs;
    parts.runs.refreshSlots();
    const level = advanced?.logLevel.toLowerCase();
    log.setLevel(
      level && (LOG_LEVELS as readonly string[]).includes(level)
        ? level as LogLevelName
        : config.logLevel,
    );
    parts.health.schedule(current.healthChecks);
  };
  state.applied.onChange(apply);
  apply();
}

/** The metrics and health endpoint, when asked for; a failure to listen is logged, not fatal. */
async function serveMetricsEndpoint(
  config: AgentConfig,
  log: Logger,
  state: ServiceState,
  parts: ServiceParts,
): Promise<void> {
  if (!config.metricsListen) return;
  try {
    const { port } = await serveMetrics(
      config.metricsListen,
      parts.metrics,
      () => ({
        ok: !state.stop.signal.aborted,
        detail: { last_heartbeat_ms: state.lastHeartbeatMs },
      }),
      log.child("metrics"),
      state.stop.signal,
    );
    state.store.setMeta(HEALTH_META.listen, `${config.metricsListen.hostname}:${port}`);
    log.info("metrics and health endpoint listening", {
      address: `${config.metricsListen.hostname}:${port}`,
    });
  } catch (error) {
    log.error("cannot serve metrics: continuing without them", { error });
  }
}

/** A verified self-update waiting to be handed over to, asked for at most once at a time. */
class UpdateHandoff {
  started = false;
  readonly requested: Promise<NonNullable<ServiceExit["update"]>>;
  request!: (update: NonNullable<ServiceExit["update"]>) => void;
  constructor() {
    this.requested = new Promise((resolve) => (this.request = resolve));
  }
}

/** The control session and the dispatcher of what the server sends. */
function connect(
  config: AgentConfig,
  log: Logger,
  tuning: ServiceTuning,
  state: ServiceState,
  parts: ServiceParts,
  handoff: UpdateHandoff,
): ControlSession {
  const { store, outbox, applied } = state;
  const { metrics, runs, docker } = parts;
  const session: ControlSession = new ControlSession({
    url: websocketUrl(config.serverUrl),
    agentKey: config.agentKey!,
    log: log.child("control"),
    store,
    outbox,
    config: applied,
    register: async () =>
      create(RegisterSchema, {
        agentVersion: VERSION,
        hostname: Deno.hostname(),
        os: "linux",
        arch: Deno.build.arch === "aarch64" ? "arm64" : "amd64",
        dockerVersion: docker ? await dockerVersion(docker) : "",
        capabilities: [...CAPABILITIES],
        lastKnownConfigVersion: applied.version,
      }),
    heartbeat: () => {
      const reading = parts.host.read();
      return Promise.resolve({
        metrics: { ...reading, queueDepth: outbox.depth } as never,
        activeJobIds: runs.activeJobIds(),
      });
    },
    dispatch: (envelope) => dispatch(envelope),
    observer: {
      state: (connection) => {
        metrics.connectionState(connection);
        // Discovery starts after the first connection (docs/agent.md section 6).
        if (connection === "connected") parts.discovery?.start();
      },
      reconnect: () => metrics.reconnected(),
      keyRejected: () => metrics.keyRejected(),
      badFrame: () => metrics.badFrame(),
      heartbeat: (at) => {
        state.lastHeartbeatMs = at;
        store.setMeta(HEALTH_META.lastHeartbeatMs, String(at));
      },
    },
    timing: tuning.session,
  });
  const dispatch = createDispatcher({
    log: log.child("dispatch"),
    config: applied,
    send: (payload, correlationId) => session.send(payload, correlationId),
    runBackup: (command) => runs.accept(command),
    cancelJob: (jobId) => runs.cancelJob(jobId),
    runHealthCheck: (checkId) => parts.health.runNow(checkId),
    selfUpdate: (command) => acceptSelfUpdate(command, config, log, state, parts, handoff),
  });
  return session;
}

/** SelfUpdate: refused while the environment forbids it or backups run, else verified and handed over. */
async function acceptSelfUpdate(
  command: SelfUpdate,
  config: AgentConfig,
  log: Logger,
  state: ServiceState,
  parts: ServiceParts,
  handoff: UpdateHandoff,
): Promise<{ accepted: boolean; reason: string }> {
  const refusal = selfUpdateRefusal(
    currentUpdateEnvironment(state.applied.current.advanced?.autoUpdateEnabled ?? false),
  );
  if (refusal !== null) return { accepted: false, reason: refusal };
  const setup = updateSetup()!;
  const active = parts.runs.activeJobIds().length;
  if (active > 0 && !command.force) {
    return {
      accepted: false,
      reason:
        `${active} backup(s) running: send the update again when they are done, or with force`,
    };
  }
  if (handoff.started) return { accepted: false, reason: "an update is already in progress" };
  handoff.started = true;
  try {
    const prepared = await prepareUpdate(
      command,
      setup,
      config.stateDir,
      config.allowInsecure,
      log.child("update"),
    );
    handoff.request({ handoff: prepared, healthTimeoutMs: setup.healthTimeoutMs });
    return { accepted: true, reason: `updating to ${command.targetVersion}` };
  } catch (error) {
    handoff.started = false;
    return {
      accepted: false,
      reason: error instanceof UpdateRejected ? error.message : (error as Error).message,
    };
  }
}

/** Serves until SIGTERM, SIGINT or a self-update, then stops every part in order. */
async function serveUntilStopped(
  log: Logger,
  tuning: ServiceTuning,
  state: ServiceState,
  parts: ServiceParts,
  session: ControlSession,
  handoff: UpdateHandoff,
): Promise<ServiceExit> {
  const stopFor = await Promise.race([
    new Promise<{ signal: Deno.Signal }>((resolve) => {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        Deno.addSignalListener(signal, () => resolve({ signal }));
      }
    }),
    handoff.requested,
  ]);
  if ("signal" in stopFor) {
    log.info("shutting down: letting running backups finish", { signal: stopFor.signal });
  } else {
    log.info("shutting down for the update: letting running backups finish", {
      target_version: stopFor.handoff.targetVersion,
    });
  }
  await parts.runs.shutdown(tuning.shutdownGraceMs ?? 30_000);
  // A verification in progress is cut: it can take as long as the backup did.
  parts.restoreSchedule?.stop();
  await parts.verifier?.shutdown();
  parts.health.stop();
  await parts.discovery?.stop();
  await session.stop(5000);
  parts.unforwardLogs();
  state.stop.abort();
  state.store.close();
  log.info("agent stopped");
  return "handoff" in stopFor ? { code: 0, update: stopFor } : { code: 0 };
}

/** The Docker engine's version for Register; empty when it does not answer within 2 s. */
async function dockerVersion(docker: DockerHost): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      docker.version(),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve(""), 2000))),
    ]);
  } catch {
    return "";
  } finally {
    clearTimeout(timer);
  }
}
