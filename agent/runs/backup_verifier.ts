/**
 * Service mode's verifications, one at a time: after every backup
 * (BACKUPY_VERIFY) on the staged file - the very bytes that were uploaded -
 * once its BackupCompleted went out, and on a schedule
 * (BACKUPY_VERIFY_RESTORE_CRON) a real restore of each job's latest backup.
 * Each result goes to the run's log (forwarded to the server as a LogEvent)
 * and to the metrics. A backup never waits for a verification.
 *
 * @module
 */
import type { DockerHost } from "../docker/docker_host.ts";
import type { Logger } from "../log/logger.ts";
import type { BackupManifest } from "../manifest/backup_manifest.ts";
import type { AgentMetrics } from "../metrics/agent_metrics.ts";
import { verifyFile, type VerifyLevel } from "../verify/verify_backup.ts";
import type { VerifyReport } from "../verify/verify_structure.ts";

/** One verification to do. */
export interface VerifyWork {
  jobId: string;
  runId: string;
  /** The encrypted backup. */
  file: string;
  key: CryptoKey;
  sha256: string;
  /** The level asked for; `manifest` falls back to `structure` without a manifest. */
  level: VerifyLevel;
  /** The dump's manifest, when the engine made one. */
  manifest?: BackupManifest;
  /** Level restore: the scratch server URL (not SQLite). */
  scratch?: string;
  /** Level restore: restore in a throwaway container of this image instead. */
  dockerImage?: string;
  /** Called once the work is done or dropped (removes or keeps `file`). */
  release(): Promise<void>;
}

/** Verifications waiting (besides the one running) before the oldest is dropped. */
const MAX_WAITING = 4;

/** What the verifier needs. */
export interface BackupVerifierOptions {
  log: Logger;
  metrics?: AgentMetrics;
  /** Where temporary copies go (SQLite integrity checks and restores). */
  tempDir: string;
  /** The Docker engine, for docker-image restores (absent: Docker is disabled). */
  docker?: DockerHost;
}

/** Verifies backups one after another. */
export class BackupVerifier {
  readonly #o: BackupVerifierOptions;
  readonly #queue: VerifyWork[] = [];
  readonly #stop = new AbortController();
  #draining = false;
  #drained: Promise<void> = Promise.resolve();

  /** A verifier. */
  constructor(options: BackupVerifierOptions) {
    this.#o = options;
  }

  /**
   * Queues `work`; its `release` is called when it is done or dropped. When
   * verification falls behind, the oldest waiting work is dropped (and
   * said so): each holds a whole backup on disk.
   */
  enqueue(work: VerifyWork): void {
    if (this.#stop.signal.aborted) {
      void work.release().catch(() => {});
      return;
    }
    while (this.#queue.length >= MAX_WAITING) {
      const dropped = this.#queue.shift()!;
      this.#o.log.child("verify", { job_id: dropped.jobId, run_id: dropped.runId }).warn(
        `not verified: verification is ${MAX_WAITING} backups behind (each one waiting ` +
          "holds a backup on disk)",
      );
      void dropped.release().catch(() => {});
    }
    this.#queue.push(work);
    if (!this.#draining) {
      this.#draining = true;
      this.#drained = this.#drain();
    }
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#drained;
  }

  /** Stops: the verification in progress is cut, queued work is dropped. */
  async shutdown(): Promise<void> {
    this.#stop.abort(new Error("the agent is shutting down"));
    await this.idle();
  }

  async #drain(): Promise<void> {
    try {
      for (let work = this.#queue.shift(); work; work = this.#queue.shift()) {
        try {
          if (!this.#stop.signal.aborted) await this.#verify(work);
        } finally {
          await work.release().catch(() => {});
        }
      }
    } finally {
      // In the same step that found the queue empty: work queued after it starts a new drain.
      this.#draining = false;
    }
  }

  async #verify(work: VerifyWork): Promise<void> {
    const log = this.#o.log.child("verify", { job_id: work.jobId, run_id: work.runId });
    // Without a manifest (an engine that makes none) structure is what can be proved.
    const level: VerifyLevel = work.level !== "structure" && !work.manifest
      ? "structure"
      : work.level;
    const started = performance.now();
    let report: VerifyReport;
    try {
      if (work.dockerImage && !this.#o.docker) {
        throw new Error(
          `a docker-image restore needs Docker, which BACKUPY_DISABLE_DISCOVERY turned off`,
        );
      }
      report = await verifyFile({
        input: work.file,
        key: work.key,
        level,
        expectedSha256: { sha256: work.sha256, source: "the SHA-256 of the upload" },
        manifest: level === "structure" ? undefined : work.manifest,
        scratch: work.scratch,
        dockerImage: work.dockerImage
          ? { image: work.dockerImage, docker: this.#o.docker! }
          : undefined,
        tempParent: this.#o.tempDir,
        signal: this.#stop.signal,
      });
    } catch (error) {
      report = {
        level,
        ok: false,
        checks: [{
          name: level === "restore" ? "restore" : "frames",
          ok: false,
          detail: (error as Error).message,
        }],
        objects: [],
        encryptedBytes: 0,
        dumpBytes: 0,
      };
    }
    if (this.#stop.signal.aborted) {
      log.info("verification cut short: the agent is shutting down");
      return;
    }
    this.#o.metrics?.verified(work.jobId, level, report.ok);
    const fields = {
      verify_level: level,
      format: report.format ?? "unknown",
      objects: String(report.objects.length),
      duration_ms: Math.round(performance.now() - started),
      checks: report.checks.map((c) => `${c.name} ${c.ok ? "ok" : "FAILED"}: ${c.detail}`)
        .join("\n"),
      ...(level !== work.level
        ? { note: "no manifest for this backup (its engine makes none): structure verified" }
        : {}),
    };
    if (report.ok) log.info(`backup verified: level ${level} proved`, { ...fields, forward: true });
    else log.error(`backup failed verification at level ${level}`, fields);
  }
}
