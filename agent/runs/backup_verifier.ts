/**
 * Service mode's verification after every backup (BACKUPY_VERIFY): once a
 * run has reported BackupCompleted, its staged file - the very bytes that
 * were uploaded - is verified at the configured level, one backup at a
 * time, and the result goes to the run's log (forwarded to the server as a
 * LogEvent) and to the metrics. It never delays a backup's own report: it
 * starts after it, and a backup waits for no verification.
 *
 * @module
 */
import type { AfterBackupVerifyLevel } from "../config/agent_config.ts";
import type { Logger } from "../log/logger.ts";
import type { BackupManifest } from "../manifest/backup_manifest.ts";
import type { AgentMetrics } from "../metrics/agent_metrics.ts";
import { verifyFile, type VerifyLevel } from "../verify/verify_backup.ts";
import type { VerifyReport } from "../verify/verify_structure.ts";

/** A finished backup waiting for verification. */
export interface VerifyWork {
  jobId: string;
  runId: string;
  /** The staged encrypted file; the verifier removes it when done. */
  staged: string;
  key: CryptoKey;
  sha256: string;
  /** The dump's manifest, when the engine made one. */
  manifest?: BackupManifest;
}

/** What the verifier needs. */
export interface BackupVerifierOptions {
  level: AfterBackupVerifyLevel;
  log: Logger;
  metrics?: AgentMetrics;
  /** Where temporary copies go (SQLite integrity checks). */
  tempDir: string;
}

/** Verifies finished backups one after another. */
export class BackupVerifier {
  readonly #o: BackupVerifierOptions;
  readonly #queue: VerifyWork[] = [];
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;

  /** A verifier at `options.level`. */
  constructor(options: BackupVerifierOptions) {
    this.#o = options;
  }

  /** The configured level. */
  get level(): AfterBackupVerifyLevel {
    return this.#o.level;
  }

  /** Queues `work`; from now on the verifier owns (and removes) its staged file. */
  enqueue(work: VerifyWork): void {
    if (this.#stop.signal.aborted) {
      void Deno.remove(work.staged).catch(() => {});
      return;
    }
    this.#queue.push(work);
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops: the verification in progress is cut, queued files are removed. */
  async shutdown(): Promise<void> {
    this.#stop.abort(new Error("the agent is shutting down"));
    await this.idle();
  }

  async #drain(): Promise<void> {
    for (let work = this.#queue.shift(); work; work = this.#queue.shift()) {
      try {
        if (!this.#stop.signal.aborted) await this.#verify(work);
      } finally {
        await Deno.remove(work.staged).catch(() => {});
      }
    }
  }

  async #verify(work: VerifyWork): Promise<void> {
    const log = this.#o.log.child("verify", { job_id: work.jobId, run_id: work.runId });
    // Without a manifest (an engine that makes none) structure is what can be proved.
    const level: VerifyLevel = this.#o.level === "manifest" && work.manifest
      ? "manifest"
      : "structure";
    const started = performance.now();
    let report: VerifyReport;
    try {
      report = await verifyFile({
        input: work.staged,
        key: work.key,
        level,
        expectedSha256: work.sha256,
        manifest: level === "manifest" ? work.manifest : undefined,
        tempParent: this.#o.tempDir,
        signal: this.#stop.signal,
      });
    } catch (error) {
      if (this.#stop.signal.aborted) {
        log.info("verification cut short: the agent is shutting down");
        return;
      }
      report = {
        level,
        ok: false,
        checks: [{ name: "frames", ok: false, detail: (error as Error).message }],
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
      ...(this.#o.level === "manifest" && level !== "manifest"
        ? { note: "no manifest for this backup (its engine makes none): structure verified" }
        : {}),
    };
    if (report.ok) log.info(`backup verified: level ${level} proved`, { ...fields, forward: true });
    else log.error(`backup failed verification at level ${level}`, fields);
  }
}
