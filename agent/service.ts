/**
 * `backupy-agent run`: the service. Wires the state store, the control
 * session, runs, health checks, metrics and logs together, and shuts down
 * gracefully on SIGTERM/SIGINT (wire-protocol.md section 3, step 8).
 *
 * @module
 */
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { RegisterSchema } from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
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
import { BackupVerifier } from "./runs/backup_verifier.ts";
import { ManifestStore } from "./state/manifest_store.ts";
import { LatestBackups } from "./state/latest_backups.ts";
import { RestoreSchedule } from "./runs/restore_schedule.ts";
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

/** Runs the service until a signal or a self-update. */
export async function runService(
  config: AgentConfig,
  log: Logger,
  tuning: ServiceTuning =
    (JSON.parse(Deno.env.get("BACKUPY_TEST_TUNING") ?? "{}") as ServiceTuning),
): Promise<ServiceExit> {
  let handoffStarted = false;
  let requestHandoff!: (update: NonNullable<ServiceExit["update"]>) => void;
  const handoffRequested = new Promise<NonNullable<ServiceExit["update"]>>((resolve) =>
    requestHandoff = resolve
  );
  prepareStateDir(config.stateDir);
  const store = StateStore.open(config.stateDir, {
    agentKey: config.agentKey,
    log: log.child("state"),
  });
  const staging = stagingDir(config.stateDir);
  // Staged files of runs cut short by a crash: never useful again.
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  await Deno.mkdir(staging, { recursive: true, mode: 0o700 });

  const outbox = new Outbox(store);
  const records = new RunRecords(store);
  const applied = new AppliedConfig(store);
  const metrics = new AgentMetrics(
    () => outbox.depth,
    Deno.env.get("BACKUPY_BUILD_COMMIT") ?? "dev",
  );
  const host = new HostMetrics(config.stateDir);
  const stop = new AbortController();
  let lastHeartbeatMs = 0;

  const unforward = forwardRunLogs(log, outbox);
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
  let maxParallel = config.maxParallelJobs;
  const verifying = config.verifyAfterBackup !== undefined ||
    config.verifyRestoreCron !== undefined;
  const verifier = verifying
    ? new BackupVerifier({ log: log.child("runs"), metrics, tempDir: staging, docker })
    : undefined;
  const latest = config.verifyRestoreCron ? new LatestBackups(store, config.stateDir) : undefined;
  const runs = new RunManager({
    records,
    outbox,
    config: applied,
    log: log.child("runs"),
    metrics,
    engines: { tempDir: staging, containers: docker },
    stagingDir: staging,
    maxParallelJobs: () => maxParallel,
    hookEnv: hookEnvironment(),
    timing: tuning.runs,
    verifier,
    verifyAfterBackup: config.verifyAfterBackup,
    latest,
    manifests: new ManifestStore(store),
  });
  const restoreSchedule = config.verifyRestoreCron && verifier && latest
    ? new RestoreSchedule({
      cron: config.verifyRestoreCron,
      latest,
      verifier,
      scratch: config.verifyScratch,
      jobExists: (jobId) => applied.job(jobId) !== undefined,
      log: log.child("runs"),
      workDir: staging,
      everyMs: tuning.restoreVerifyEveryMs,
    })
    : undefined;
  restoreSchedule?.start();
  const health = new HealthChecker(outbox, log.child("health"), metrics);

  const applyConfig = () => {
    const current = applied.current;
    metrics.configApplied(current.version);
    const advanced = current.advanced;
    maxParallel = advanced && advanced.maxParallelJobs > 0
      ? advanced.maxParallelJobs
      : config.maxParallelJobs;
    runs.refreshSlots();
    const level = advanced?.logLevel.toLowerCase();
    log.setLevel(
      level && (LOG_LEVELS as readonly string[]).includes(level)
        ? level as LogLevelName
        : config.logLevel,
    );
    health.schedule(current.healthChecks);
  };
  applied.onChange(applyConfig);
  applyConfig();

  if (config.metricsListen) {
    try {
      const { port } = await serveMetrics(
        config.metricsListen,
        metrics,
        () => ({ ok: !stop.signal.aborted, detail: { last_heartbeat_ms: lastHeartbeatMs } }),
        log.child("metrics"),
        stop.signal,
      );
      store.setMeta(HEALTH_META.listen, `${config.metricsListen.hostname}:${port}`);
      log.info("metrics and health endpoint listening", {
        address: `${config.metricsListen.hostname}:${port}`,
      });
    } catch (error) {
      log.error("cannot serve metrics: continuing without them", { error });
    }
  }

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
      const reading = host.read();
      return Promise.resolve({
        metrics: { ...reading, queueDepth: outbox.depth } as never,
        activeJobIds: runs.activeJobIds(),
      });
    },
    dispatch: (envelope) => dispatch(envelope),
    observer: {
      state: (state) => {
        metrics.connectionState(state);
        // Discovery starts after the first connection (agent.md section 6).
        if (state === "connected") discovery?.start();
      },
      reconnect: () => metrics.reconnected(),
      keyRejected: () => metrics.keyRejected(),
      badFrame: () => metrics.badFrame(),
      heartbeat: (at) => {
        lastHeartbeatMs = at;
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
    runHealthCheck: (checkId) => health.runNow(checkId),
    selfUpdate: async (command) => {
      const refusal = selfUpdateRefusal(
        currentUpdateEnvironment(applied.current.advanced?.autoUpdateEnabled ?? false),
      );
      if (refusal !== null) return { accepted: false, reason: refusal };
      const setup = updateSetup()!;
      const active = runs.activeJobIds().length;
      if (active > 0 && !command.force) {
        return {
          accepted: false,
          reason:
            `${active} backup(s) running: send the update again when they are done, or with force`,
        };
      }
      if (handoffStarted) return { accepted: false, reason: "an update is already in progress" };
      handoffStarted = true;
      try {
        const handoff = await prepareUpdate(
          command,
          setup,
          config.stateDir,
          config.allowInsecure,
          log.child("update"),
        );
        requestHandoff({ handoff, healthTimeoutMs: setup.healthTimeoutMs });
        return { accepted: true, reason: `updating to ${command.targetVersion}` };
      } catch (error) {
        handoffStarted = false;
        return {
          accepted: false,
          reason: error instanceof UpdateRejected ? error.message : (error as Error).message,
        };
      }
    },
  });
  runs.recover();
  session.start();
  log.info("agent started", {
    version: VERSION,
    state_dir: config.stateDir,
    verify_after_backup: config.verifyAfterBackup ?? "off",
    verify_restore: config.verifyRestoreCron ? "scheduled" : "off",
  });

  const stopFor = await Promise.race([
    new Promise<{ signal: Deno.Signal }>((resolve) => {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        Deno.addSignalListener(signal, () => resolve({ signal }));
      }
    }),
    handoffRequested,
  ]);
  if ("signal" in stopFor) {
    log.info("shutting down: letting running backups finish", { signal: stopFor.signal });
  } else {
    log.info("shutting down for the update: letting running backups finish", {
      target_version: stopFor.handoff.targetVersion,
    });
  }
  await runs.shutdown(tuning.shutdownGraceMs ?? 30_000);
  // A verification in progress is cut: it can take as long as the backup did.
  restoreSchedule?.stop();
  await verifier?.shutdown();
  health.stop();
  await discovery?.stop();
  await session.stop(5000);
  unforward();
  stop.abort();
  store.close();
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
