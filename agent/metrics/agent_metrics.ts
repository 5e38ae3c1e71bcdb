/**
 * Prometheus metrics (docs/agent.md section 9) with `prom-client`: the Go
 * agent's names, which dashboards depend on, and ours. Labels are job and
 * check ids only: never a secret.
 *
 * @module
 */
import client from "prom-client";
import { VERSION } from "../../decrypt/version.ts";
import type { ConnectionState } from "./connection_state.ts";

/**
 * How often the event-loop lag metrics sample the loop. prom-client's
 * default, 10 ms, wakes an idle agent 100 times a second (about 0.7% of a
 * core, measured by tests/bench/idle_bench.ts); sampled once a second,
 * a stall of the loop still shows in the lag metrics.
 */
const EVENT_LOOP_SAMPLE_MS = 1000;

/** Run outcome labels. */
export type RunStatusLabel = "success" | "failure" | "cancelled";

const MIB = 1024 * 1024;

/** Every metric of the agent, in one registry. */
export class AgentMetrics {
  readonly registry = new client.Registry();
  readonly #runs: client.Counter<"job_id" | "status">;
  readonly #runDuration: client.Histogram<"job_id">;
  readonly #runSize: client.Histogram<"job_id">;
  readonly #connection: client.Gauge<"state">;
  readonly #reconnects: client.Counter;
  readonly #keyRejected: client.Counter;
  readonly #badFrames: client.Counter;
  readonly #lastSuccess: client.Gauge<"job_id">;
  readonly #configVersion: client.Gauge;
  readonly #checkUp: client.Gauge<"check_id">;
  readonly #checkDuration: client.Histogram<"check_id">;
  readonly #uploadRetries: client.Counter;
  readonly #discovered: client.Gauge;
  readonly #lastVerified: client.Gauge<"job_id" | "level">;
  readonly #verifyFailures: client.Counter<"job_id" | "level">;

  /** Registers everything; `outboxDepth` is read at scrape time. */
  constructor(outboxDepth: () => number, commit = "dev") {
    const registers = [this.registry];
    client.collectDefaultMetrics({
      register: this.registry,
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
    this.#runs = new client.Counter({
      name: "backupy_agent_runs_total",
      help: "Backup runs by outcome.",
      labelNames: ["job_id", "status"],
      registers,
    });
    this.#runDuration = new client.Histogram({
      name: "backupy_agent_run_duration_seconds",
      help: "Duration of backup runs.",
      labelNames: ["job_id"],
      buckets: [1, 5, 15, 60, 300, 900, 3600],
      registers,
    });
    this.#runSize = new client.Histogram({
      name: "backupy_agent_run_size_bytes",
      help: "Size of uploaded backups.",
      labelNames: ["job_id"],
      buckets: [MIB, 10 * MIB, 100 * MIB, 1024 * MIB, 10 * 1024 * MIB],
      registers,
    });
    this.#connection = new client.Gauge({
      name: "backupy_agent_wss_connection_state",
      help: "1 for the current control connection state.",
      labelNames: ["state"],
      registers,
    });
    this.#reconnects = new client.Counter({
      name: "backupy_agent_wss_reconnects_total",
      help: "Reconnects of the control connection.",
      registers,
    });
    this.#keyRejected = new client.Counter({
      name: "backupy_agent_wss_key_rejected_total",
      help: "Connection attempts refused with 401/403 (agent key rejected).",
      registers,
    });
    this.#badFrames = new client.Counter({
      name: "backupy_agent_wss_bad_frames_total",
      help: "Server messages dropped because they were not valid Envelopes.",
      registers,
    });
    new client.Gauge({
      name: "backupy_agent_dispatch_pending",
      help: "Messages waiting in the durable outbox.",
      registers,
      collect() {
        this.set(outboxDepth());
      },
    });
    new client.Gauge({
      name: "backupy_agent_build_info",
      help: "Build information.",
      labelNames: ["version", "commit"],
      registers,
    }).set({ version: VERSION, commit }, 1);
    this.#lastSuccess = new client.Gauge({
      name: "backupy_agent_last_success_timestamp_seconds",
      help: "When the job last backed up successfully.",
      labelNames: ["job_id"],
      registers,
    });
    this.#configVersion = new client.Gauge({
      name: "backupy_agent_config_version",
      help: "Version of the applied config.",
      registers,
    });
    this.#checkUp = new client.Gauge({
      name: "backupy_agent_health_check_up",
      help: "1 when the health check last passed.",
      labelNames: ["check_id"],
      registers,
    });
    this.#checkDuration = new client.Histogram({
      name: "backupy_agent_health_check_duration_seconds",
      help: "Health check latency.",
      labelNames: ["check_id"],
      registers,
    });
    this.#uploadRetries = new client.Counter({
      name: "backupy_agent_upload_retries_total",
      help: "Upload retries after transient failures.",
      registers,
    });
    this.#discovered = new client.Gauge({
      name: "backupy_agent_discovered_containers",
      help: "Database containers found by discovery.",
      registers,
    });
    this.#lastVerified = new client.Gauge({
      name: "backupy_agent_last_verified_timestamp_seconds",
      help: "When a backup of the job last passed verification at the level.",
      labelNames: ["job_id", "level"],
      registers,
    });
    this.#verifyFailures = new client.Counter({
      name: "backupy_agent_verify_failures_total",
      help: "Backups of the job that failed verification at the level.",
      labelNames: ["job_id", "level"],
      registers,
    });
    this.connectionState("disconnected");
  }

  /** A backup of `jobId` was verified at `level`. */
  verified(jobId: string, level: string, ok: boolean): void {
    if (ok) this.#lastVerified.set({ job_id: jobId, level }, Date.now() / 1000);
    else this.#verifyFailures.inc({ job_id: jobId, level });
  }

  /** A run ended. */
  runFinished(jobId: string, status: RunStatusLabel, seconds: number, sizeBytes?: number): void {
    this.#runs.inc({ job_id: jobId, status });
    this.#runDuration.observe({ job_id: jobId }, seconds);
    if (status === "success") {
      if (sizeBytes !== undefined) this.#runSize.observe({ job_id: jobId }, sizeBytes);
      this.#lastSuccess.set({ job_id: jobId }, Date.now() / 1000);
    }
  }

  /** The control connection moved to `state`. */
  connectionState(state: ConnectionState): void {
    for (const s of ["connected", "reconnecting", "disconnected"]) {
      this.#connection.set({ state: s }, s === state ? 1 : 0);
    }
  }

  /** A reconnect. */
  reconnected(): void {
    this.#reconnects.inc();
  }

  /** A 401/403 on connect. */
  keyRejected(): void {
    this.#keyRejected.inc();
  }

  /** An undecodable server message. */
  badFrame(): void {
    this.#badFrames.inc();
  }

  /** A config was applied. */
  configApplied(version: bigint): void {
    this.#configVersion.set(Number(version));
  }

  /** A health check ran. */
  healthCheck(checkId: string, ok: boolean, seconds: number): void {
    this.#checkUp.set({ check_id: checkId }, ok ? 1 : 0);
    this.#checkDuration.observe({ check_id: checkId }, seconds);
  }

  /** An upload retry. */
  uploadRetried(): void {
    this.#uploadRetries.inc();
  }

  /** Discovery found `count` containers. */
  discovered(count: number): void {
    this.#discovered.set(count);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
