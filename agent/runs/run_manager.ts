/**
 * Runs from `RunBackup` to their one terminal message (docs/agent.md section 3
 * and docs/wire-protocol.md section 4): idempotent per run_id, queued for a
 * slot, retried per the job's policy while the presigned URL is valid,
 * bounded by the job's timeout and a stall watchdog, cancellable, and
 * recovered after a crash. Runs are independent of the control connection.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { JobStatus } from "@backupy/gen/backup/v1/common_pb.ts";
import {
  BackupCompletedSchema,
  JobUpdateSchema,
} from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
import type {
  BackupJobSpec,
  RunBackup,
  Target,
} from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import type { Envelope } from "@backupy/gen/backup/v1/envelope_pb.ts";
import type { Compression } from "../../decrypt/decompress_stream.ts";
import { type Dek, dekFromBytes, importDek } from "../../decrypt/dek.ts";
import type { EngineContext } from "../engines/registry.ts";
import type { Logger } from "../log/logger.ts";
import { redactText } from "../log/redact.ts";
import type { AgentMetrics } from "../metrics/agent_metrics.ts";
import type { AppliedConfig } from "../state/applied_config.ts";
import type { Outbox } from "../state/outbox.ts";
import type { RunOutcome, RunRecord, RunRecords } from "../state/run_records.ts";
import { DEFAULT_HOOK_LIMITS, type HookLimits, runHooks, validateHooks } from "./hook_runner.ts";
import { RunAbort } from "./run_abort.ts";
import { type AttemptResult, runAttempt } from "./run_attempt.ts";
import type { BackupVerifier } from "./backup_verifier.ts";
import { encryptManifest } from "../manifest/backup_manifest.ts";
import type { ManifestStore } from "../state/manifest_store.ts";
import type { LatestBackups } from "../state/latest_backups.ts";
import type { AfterBackupVerifyLevel } from "../config/agent_config.ts";
import { RunSlots } from "./run_slots.ts";

/** Timing knobs; the defaults are the spec's, tests shrink them. */
export interface RunTiming {
  /** Minimum gap between two progress updates. */
  progressIntervalMs: number;
  /** No byte of progress for this long fails the run as stalled. */
  stallMs: number;
  /** Retry delay when the job's policy names none. */
  defaultRetryDelaySec: number;
  /** Scale of retry delays (tests use a small factor). */
  retryDelayScale: number;
  hookLimits: HookLimits;
}

const DEFAULT_TIMING: RunTiming = {
  progressIntervalMs: 2000,
  stallMs: 5 * 60_000,
  defaultRetryDelaySec: 60,
  retryDelayScale: 1,
  hookLimits: DEFAULT_HOOK_LIMITS,
};

/** What the manager needs. */
export interface RunManagerOptions {
  records: RunRecords;
  outbox: Outbox;
  config: AppliedConfig;
  log: Logger;
  metrics?: AgentMetrics;
  engines: EngineContext;
  stagingDir: string;
  /** Current parallelism (env default, then the server's advanced settings). */
  maxParallelJobs: () => number;
  /** Environment hooks inherit (secrets removed). */
  hookEnv: Record<string, string>;
  timing?: Partial<RunTiming>;
  now?: () => number;
  /** Runs verifications (after backups, scheduled restores). */
  verifier?: BackupVerifier;
  /** Verify every successful backup after its report at this level (BACKUPY_VERIFY). */
  verifyAfterBackup?: AfterBackupVerifyLevel;
  /** Keeps each job's latest backup for scheduled restores (BACKUPY_VERIFY_RESTORE_CRON). */
  latest?: LatestBackups;
  /** Keeps the manifests of service-mode backups. */
  manifests?: ManifestStore;
}

/** The answer to a RunBackup, for its Ack. */
export interface AcceptResult {
  accepted: boolean;
  reason: string;
}

/** A run being worked on. */
interface ActiveRun {
  runId: string;
  jobId: string;
  controller: AbortController;
  done: Promise<void>;
}

const COMPRESSIONS: Record<string, Compression> = {
  "": "zstd",
  zstd: "zstd",
  gzip: "gzip",
  none: "none",
};

/** How a run's attempts ended: the outcome, and the last attempt's result when one finished. */
interface AttemptsEnd {
  outcome: { kind: "success" | RunOutcome; message: string };
  result?: AttemptResult;
}

/** A run's progress reporting and watchdogs (RunManager#watch). */
interface RunWatch {
  progress(step: string, percent: number): void;
  activity(): void;
  stop(): void;
}

/** The outcome of a run that was aborted (cancel, timeout, stall, shutdown) or threw. */
function outcomeOf(reason: unknown): AttemptsEnd["outcome"] {
  if (reason instanceof RunAbort) {
    return {
      kind: reason.kind === "cancelled" || reason.kind === "shutdown" ? "cancelled" : "failed",
      message: reason.message,
    };
  }
  return { kind: "failed", message: (reason as Error)?.message ?? String(reason) };
}

/** Raised for a RunBackup that cannot run at all (no retry). */
class InvalidRun extends Error {}

/** Runs backups. */
export class RunManager {
  readonly #o: RunManagerOptions;
  readonly #timing: RunTiming;
  readonly #slots: RunSlots;
  readonly #active = new Map<string, ActiveRun>();
  readonly #now: () => number;
  #accepting = true;

  /** A manager; call {@linkcode RunManager.recover} once at start. */
  constructor(options: RunManagerOptions) {
    this.#o = options;
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#slots = new RunSlots(options.maxParallelJobs);
    this.#now = options.now ?? Date.now;
  }

  /** Job ids of runs in progress (for heartbeats). */
  activeJobIds(): string[] {
    return [...new Set([...this.#active.values()].map((run) => run.jobId))];
  }

  /** Runs in progress. */
  get activeCount(): number {
    return this.#active.size;
  }

  /** Call when max_parallel_jobs may have changed. */
  refreshSlots(): void {
    this.#slots.refresh();
  }

  /**
   * Takes a RunBackup. A run_id already running is not started twice; a
   * finished one has its final message re-sent. A malformed request fails
   * at once with a reason (and a FAILED JobUpdate when it has a run_id).
   */
  accept(request: RunBackup): AcceptResult {
    if (request.runId === "") return { accepted: false, reason: "run_backup has no run_id" };
    const known = this.#o.records.get(request.runId);
    if (known) {
      if (known.state === "finished" && known.finalPayload) {
        this.#o.outbox.enqueue(known.finalPayload, { runId: known.runId, terminal: true });
        return { accepted: true, reason: "run already finished: its final message was sent again" };
      }
      return { accepted: true, reason: "run already in progress" };
    }
    if (!this.#accepting) {
      return { accepted: false, reason: "the agent is shutting down" };
    }
    this.#o.records.insert(request);
    try {
      this.#validate(request);
    } catch (error) {
      const reason = (error as Error).message;
      this.#finish(this.#o.records.get(request.runId)!, "failed", reason);
      return { accepted: false, reason };
    }
    this.#start(this.#o.records.get(request.runId)!, false);
    return { accepted: true, reason: "" };
  }

  /** Cancels every run of `jobId` in progress; returns how many. */
  cancelJob(jobId: string): number {
    let count = 0;
    for (const run of this.#active.values()) {
      if (run.jobId !== jobId) continue;
      run.controller.abort(new RunAbort("cancelled", "cancelled by the server"));
      count++;
    }
    return count;
  }

  /**
   * After a start: every run accepted before a crash or restart ends with
   * exactly one terminal message - retried while its URL is valid (the cut
   * attempt does not count), else FAILED "agent restarted during run".
   */
  recover(): void {
    for (const record of this.#o.records.unfinished()) {
      const expires = Number(record.request.uploadCreds?.expiresAtMs ?? 0n);
      if (expires > this.#now() + 60_000) {
        this.#o.log.info("resuming a run interrupted by a restart", {
          run_id: record.runId,
          job_id: record.jobId,
        });
        this.#start(record, true);
      } else {
        this.#finish(record, "failed", "agent restarted during run");
      }
    }
  }

  /**
   * Stops taking runs, lets running ones finish for up to `graceMs`, then
   * cancels the rest (they report CANCELLED).
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#accepting = false;
    const all = () => Promise.all([...this.#active.values()].map((run) => run.done));
    const timer = new Promise<"timeout">((resolve) =>
      setTimeout(() => resolve("timeout"), graceMs)
    );
    if ((await Promise.race([all().then(() => "done" as const), timer])) === "timeout") {
      for (const run of this.#active.values()) {
        run.controller.abort(new RunAbort("shutdown", "cancelled: the agent is shutting down"));
      }
      await all();
    }
  }

  #validate(request: RunBackup): void {
    const config = this.#o.config;
    const job = config.job(request.jobId);
    if (!job) {
      throw new InvalidRun(
        `unknown job_id ${JSON.stringify(request.jobId)} (not in config version ${config.version})`,
      );
    }
    const target = config.target(job.targetId);
    if (!target) {
      throw new InvalidRun(`job ${job.id} names unknown target ${JSON.stringify(job.targetId)}`);
    }
    if (request.encryptedDek.length !== 32) {
      throw new InvalidRun(
        `DEK of the wrong length: ${request.encryptedDek.length} bytes, 32 expected`,
      );
    }
    if (!request.uploadCreds?.presignedPutUrl) throw new InvalidRun("run_backup has no upload URL");
    if (!/^https?:\/\//.test(request.uploadCreds.presignedPutUrl)) {
      throw new InvalidRun("the upload URL is not http(s)");
    }
    const expires = Number(request.uploadCreds.expiresAtMs);
    if (expires > 0 && expires <= this.#now()) {
      throw new InvalidRun(`the upload URL expired at ${new Date(expires).toISOString()}`);
    }
    if (!(job.compression in COMPRESSIONS)) {
      throw new InvalidRun(
        `unknown compression ${JSON.stringify(job.compression)} (zstd, gzip or none)`,
      );
    }
    validateHooks(job.preHooks, job.postHooks);
  }

  #start(record: RunRecord, resumed: boolean): void {
    const controller = new AbortController();
    const run: ActiveRun = {
      runId: record.runId,
      jobId: record.jobId,
      controller,
      done: Promise.resolve(),
    };
    this.#active.set(record.runId, run);
    run.done = this.#execute(record, controller, resumed)
      .catch((error) => {
        // Never expected: #execute reports its own failures.
        this.#o.log.error("internal error in a run", { run_id: record.runId, error });
        this.#finish(record, "failed", `internal error: ${(error as Error).message}`);
      })
      .finally(() => this.#active.delete(record.runId));
  }

  /** Queues a progress JobUpdate (durable, like every non-heartbeat message). */
  #update(record: RunRecord, status: JobStatus, step: string, percent: number): void {
    this.#o.outbox.enqueue({
      case: "jobUpdate",
      value: create(JobUpdateSchema, {
        jobId: record.jobId,
        runId: record.runId,
        status,
        currentStep: step,
        progressPercent: Math.max(0, Math.min(100, Math.floor(percent))),
      }),
    }, { runId: record.runId });
  }

  /** Records the outcome and queues the one terminal message. */
  #finish(record: RunRecord, outcome: Exclude<RunOutcome, "success">, message: string): void {
    const status = outcome === "cancelled" ? JobStatus.CANCELLED : JobStatus.FAILED;
    const payload: Envelope["payload"] = {
      case: "jobUpdate",
      value: create(JobUpdateSchema, {
        jobId: record.jobId,
        runId: record.runId,
        status,
        errorMessage: redactText(message),
      }),
    };
    if (this.#o.records.finish(record.runId, outcome, payload, this.#o.outbox)) {
      this.#o.log.warn(outcome === "cancelled" ? "run cancelled" : "run failed", {
        run_id: record.runId,
        job_id: record.jobId,
        error: message,
      });
    }
  }

  /** One run, top-down: its keys, its watchdogs, a slot and the attempts, the post-hooks, the report. */
  async #execute(record: RunRecord, controller: AbortController, resumed: boolean): Promise<void> {
    const started = this.#now();
    const log = this.#o.log.child("run", { job_id: record.jobId, run_id: record.runId });
    const prepared = await this.#prepare(record);
    if (!prepared) return;
    const { job, target, dek, key } = prepared;
    const watch = this.#watch(record, controller, job.timeoutSec);
    const hookBudget = { remainingMs: this.#timing.hookLimits.perRunMs };
    let release: (() => void) | undefined;
    let ended: AttemptsEnd;
    try {
      release = await this.#acquireSlot(record, target.id, controller.signal);
      watch.activity();
      if (resumed) log.info("run resumed after a restart");
      ended = await this.#attempts(
        record,
        { job, target, key, log, hookBudget, watch },
        controller,
      );
    } catch (error) {
      ended = { outcome: outcomeOf(controller.signal.aborted ? controller.signal.reason : error) };
    } finally {
      watch.stop();
    }
    await this.#postHooks(record, job.postHooks, ended, hookBudget, log);
    release?.();
    await this.#report(record, job.compression, ended, started, { dek, key, log });
  }

  /** The run's job, target and key; finishes the run as failed when one is missing or bad. */
  async #prepare(record: RunRecord): Promise<
    { job: BackupJobSpec; target: Target; dek: Dek; key: CryptoKey } | undefined
  > {
    const job = this.#o.config.job(record.request.jobId);
    const target = job ? this.#o.config.target(job.targetId) : undefined;
    if (!job || !target) {
      this.#finish(
        record,
        "failed",
        job ? "the job's target is no longer configured" : "the job is no longer configured",
      );
      return undefined;
    }
    try {
      const dek = dekFromBytes(record.request.encryptedDek, "RunBackup.encrypted_dek");
      return { job, target, dek, key: await importDek(dek) };
    } catch (error) {
      this.#finish(record, "failed", (error as Error).message);
      return undefined;
    }
  }

  /**
   * The run's progress reporting, its timeout and its stall watchdog: no byte
   * of progress for `stallMs` while dumping or uploading fails the run (hooks
   * and retry waits have limits of their own).
   */
  #watch(record: RunRecord, controller: AbortController, timeoutSec: number): RunWatch {
    const timeout = timeoutSec > 0
      ? setTimeout(
        () =>
          controller.abort(
            new RunAbort("timeout", `timed out after ${timeoutSec} s (timeout_sec)`),
          ),
        timeoutSec * 1000,
      )
      : undefined;
    let lastProgressAt = 0;
    let lastStep = "";
    let lastActivity = this.#now();
    const watchdog = setInterval(() => {
      if (lastStep !== "dumping" && lastStep !== "uploading") {
        lastActivity = this.#now();
        return;
      }
      if (this.#now() - lastActivity > this.#timing.stallMs) {
        controller.abort(
          new RunAbort(
            "stalled",
            `stalled: no progress for ${Math.round(this.#timing.stallMs / 1000)} s`,
          ),
        );
      }
    }, Math.min(5000, this.#timing.stallMs / 4));
    return {
      progress: (step, percent) => {
        const now = this.#now();
        if (step !== lastStep) this.#o.records.setState(record.runId, "running", step);
        if (step === lastStep && now - lastProgressAt < this.#timing.progressIntervalMs) return;
        lastStep = step;
        lastProgressAt = now;
        this.#update(record, JobStatus.RUNNING, step, percent);
      },
      activity: () => void (lastActivity = this.#now()),
      stop: () => {
        clearInterval(watchdog);
        clearTimeout(timeout);
      },
    };
  }

  /** Waits for a slot of the target, telling the server the run is queued when it must wait. */
  async #acquireSlot(record: RunRecord, targetId: string, signal: AbortSignal) {
    if (!this.#slots.available(targetId)) {
      this.#o.records.setState(record.runId, "queued");
      this.#update(record, JobStatus.QUEUED, "waiting for a slot", 0);
    }
    const release = await this.#slots.acquire(targetId, signal);
    this.#o.records.setState(record.runId, "running", "starting");
    return release;
  }

  /**
   * Attempts until one succeeds, the job's retry policy is spent, or the
   * upload URL would expire before the next one. Throws only when the run
   * is aborted (its reason).
   */
  async #attempts(
    record: RunRecord,
    run: {
      job: BackupJobSpec;
      target: Target;
      key: CryptoKey;
      log: Logger;
      hookBudget: { remainingMs: number };
      watch: RunWatch;
    },
    controller: AbortController,
  ): Promise<AttemptsEnd> {
    const { job, log, watch } = run;
    const { request } = record;
    const signal = controller.signal;
    const maxAttempts = Math.max(1, job.retry?.maxAttempts ?? 1);
    for (;;) {
      try {
        const result = await runAttempt({
          request,
          job,
          target: run.target,
          key: run.key,
          compression: COMPRESSIONS[job.compression],
          stagingDir: this.#o.stagingDir,
          engines: this.#o.engines,
          signal,
          log,
          hookLimits: this.#timing.hookLimits,
          hookBudget: run.hookBudget,
          hookEnv: this.#o.hookEnv,
          progress: watch.progress,
          activity: watch.activity,
          uploadRetried: () => this.#o.metrics?.uploadRetried(),
          collectManifest: this.#o.verifyAfterBackup === "manifest" ||
            this.#o.latest !== undefined,
          keepStaged: this.#o.latest !== undefined ||
            (this.#o.verifier !== undefined && this.#o.verifyAfterBackup !== undefined),
        });
        return { outcome: { kind: "success", message: "" }, result };
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const message = redactText((error as Error).message ?? String(error));
        // Only finished attempts count: a crash mid-attempt never gets here.
        const used = this.#o.records.countAttempt(record.runId);
        const delaySec = this.#retryDelaySec(job.retry?.backoffSeconds ?? [], used);
        const expires = Number(request.uploadCreds?.expiresAtMs ?? 0n);
        const retryAt = this.#now() + delaySec * 1000;
        if (used >= maxAttempts || retryAt >= expires) {
          const why = used >= maxAttempts ? "" : " (the upload URL expires before another attempt)";
          return {
            outcome: {
              kind: "failed",
              message: maxAttempts > 1
                ? `${message} (attempt ${used} of ${maxAttempts})${why}`
                : message,
            },
          };
        }
        log.warn("attempt failed, retrying", {
          attempt: used,
          retry_in_s: delaySec,
          error: message,
        });
        this.#update(record, JobStatus.RUNNING, `retrying in ${delaySec} s`, 0);
        await this.#sleep(delaySec * 1000, signal);
        watch.activity();
      }
    }
  }

  /** Post-hooks run on every exit path and learn the outcome; their failures are only logged. */
  async #postHooks(
    record: RunRecord,
    hooks: BackupJobSpec["postHooks"],
    ended: AttemptsEnd,
    hookBudget: { remainingMs: number },
    log: Logger,
  ): Promise<void> {
    if (hooks.length === 0) return;
    const { outcome, result } = ended;
    const failures = await runHooks(hooks, {
      env: {
        ...this.#o.hookEnv,
        BACKUPY_RUN_STATUS: outcome.kind,
        BACKUPY_RUN_ID: record.runId,
        BACKUPY_JOB_ID: record.jobId,
        BACKUPY_SIZE_BYTES: String(result?.sizeBytes ?? 0),
        BACKUPY_SHA256: result?.sha256 ?? "",
      },
      signal: new AbortController().signal,
      limits: this.#timing.hookLimits,
      budget: {
        remainingMs: Math.max(hookBudget.remainingMs, this.#timing.hookLimits.perHookMs),
      },
      stopOnFailure: false,
      containers: this.#o.engines.containers,
    }).catch((error) => {
      log.warn("post-hooks could not run", { error });
      return [];
    });
    for (const failure of failures) {
      // A failing post-hook is reported but does not undo a good backup.
      log.warn("post-hook failed", {
        code: failure.code,
        timed_out: failure.timedOut,
        stderr_tail: failure.stderrTail,
      });
    }
  }

  /** The run's one terminal message, its metrics, and what follows a success. */
  async #report(
    record: RunRecord,
    compression: string,
    ended: AttemptsEnd,
    started: number,
    keys: { dek: Dek; key: CryptoKey; log: Logger },
  ): Promise<void> {
    const { outcome, result } = ended;
    const { request } = record;
    const seconds = (this.#now() - started) / 1000;
    if (outcome.kind === "success" && result) {
      const payload: Envelope["payload"] = {
        case: "backupCompleted",
        value: create(BackupCompletedSchema, {
          jobId: record.jobId,
          runId: record.runId,
          s3Key: request.uploadCreds?.finalS3Key ?? "",
          sizeBytes: BigInt(result.sizeBytes),
          sha256: result.sha256,
          durationMs: BigInt(this.#now() - started),
          encryptedDek: request.encryptedDek,
          compression: COMPRESSIONS[compression],
          dbEngineVersion: result.engineVersion,
        }),
      };
      this.#o.records.finish(record.runId, "success", payload, this.#o.outbox);
      this.#o.metrics?.runFinished(record.jobId, "success", seconds, result.sizeBytes);
      keys.log.info("backup completed", {
        size_bytes: result.sizeBytes,
        sha256: result.sha256,
        seconds,
      });
      await this.#afterSuccess(record, keys.dek, keys.key, result, keys.log);
      return;
    }
    if (result?.staged) await Deno.remove(result.staged).catch(() => {});
    const kind = outcome.kind === "success" ? "failed" : outcome.kind;
    this.#finish(record, kind, outcome.message || "the run failed");
    this.#o.metrics?.runFinished(
      record.jobId,
      kind === "cancelled" ? "cancelled" : "failure",
      seconds,
    );
  }

  /**
   * Keeps the manifest, and hands the staged file to the verifier, then to
   * the latest-backup store (or removes it).
   */
  async #afterSuccess(
    record: RunRecord,
    dek: Dek,
    key: CryptoKey,
    result: AttemptResult,
    log: Logger,
  ): Promise<void> {
    if (result.manifest && this.#o.manifests) {
      try {
        this.#o.manifests.put(
          record.jobId,
          record.runId,
          result.sha256,
          await encryptManifest(result.manifest, key),
        );
        const objects = result.manifest.objects;
        log.info("manifest kept", {
          objects: objects.length,
          rows: objects.reduce((sum, o) => sum + o.rows, 0),
          engine_version: result.manifest.engine_version,
        });
      } catch (error) {
        log.warn("the manifest could not be kept", { error: (error as Error).message });
      }
    }
    const staged = result.staged;
    if (!staged) return;
    const latest = this.#o.latest;
    const release = async () => {
      if (!latest) return await Deno.remove(staged).catch(() => {});
      try {
        await latest.keep(record.jobId, record.runId, staged, {
          dek,
          sha256: result.sha256,
          manifest: result.manifest,
        });
      } catch (error) {
        log.warn("the latest backup could not be kept for restore verification", {
          error: (error as Error).message,
        });
        await Deno.remove(staged).catch(() => {});
      }
    };
    if (this.#o.verifier && this.#o.verifyAfterBackup) {
      this.#o.verifier.enqueue({
        jobId: record.jobId,
        runId: record.runId,
        file: staged,
        key,
        sha256: result.sha256,
        level: this.#o.verifyAfterBackup,
        manifest: result.manifest,
        release,
      });
    } else {
      await release();
    }
  }

  #retryDelaySec(backoff: number[], failedAttempts: number): number {
    const base = backoff.length > 0
      ? backoff[Math.min(failedAttempts - 1, backoff.length - 1)]
      : this.#timing.defaultRetryDelaySec;
    return base * this.#timing.retryDelayScale;
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
  }
}
