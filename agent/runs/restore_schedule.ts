/**
 * Scheduled restore verification (BACKUPY_VERIFY_RESTORE_CRON): at each
 * fire time every configured job's latest backup is restored for real -
 * SQLite into a temporary file, PostgreSQL and MySQL/MariaDB into a
 * temporary database on the job's scratch server (BACKUPY_VERIFY_SCRATCH) -
 * read back and compared with its manifest, through the same one-at-a-time
 * verifier as the after-backup checks. A job that cannot be restored here
 * (no manifest, no scratch server, an engine the restore level does not
 * take) is named in a warning each time instead.
 *
 * @module
 */
import { join } from "node:path";
import { importDek } from "../../decrypt/dek.ts";
import type { CronExpression } from "../config/cron_expression.ts";
import { DOCKER_IMAGE_PREFIX, type ScratchServer } from "../config/agent_config.ts";
import type { Logger } from "../log/logger.ts";
import type { LatestBackup, LatestBackups } from "../state/latest_backups.ts";
import { needsScratch, RESTORABLE_ENGINES, sameFamily } from "../verify/restore_check.ts";
import type { BackupVerifier } from "./backup_verifier.ts";
import { engineName } from "../engines/registry.ts";
import { targetFromUrl } from "../local/target_url.ts";
import { DOCKER_RESTORABLE_ENGINES } from "../verify/docker_restore_check.ts";

/** What the schedule needs. */
export interface RestoreScheduleOptions {
  cron: CronExpression;
  latest: LatestBackups;
  verifier: BackupVerifier;
  scratch: ScratchServer[];
  /** Whether the job is still configured (a removed job's backup is not restored). */
  jobExists(jobId: string): boolean;
  log: Logger;
  /** Where the verifier's view of a kept file (a hard link) is made. */
  workDir: string;
  /** Tests: fire this often instead of by the cron expression. */
  everyMs?: number;
  now?: () => number;
}

/** setTimeout takes at most 2^31-1 ms; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The schedule; {@linkcode RestoreSchedule.start} arms it. */
export class RestoreSchedule {
  readonly #o: RestoreScheduleOptions;
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** Jobs whose restore is queued or running: a slow restore is not queued twice. */
  readonly #pending = new Set<string>();

  /** A schedule (not armed yet). */
  constructor(options: RestoreScheduleOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Arms the timer for the next fire time. */
  start(): void {
    if (this.#stopped) return;
    const now = this.#now();
    const at = this.#o.everyMs !== undefined
      ? now + this.#o.everyMs
      : this.#o.cron.next(new Date(now))?.getTime();
    if (at === undefined) {
      this.#o.log.warn("BACKUPY_VERIFY_RESTORE_CRON never fires: no restore verification");
      return;
    }
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, at - now));
    this.#timer = setTimeout(() => {
      if (this.#now() >= at) this.fire();
      this.start();
    }, wait);
  }

  /** Disarms the timer. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Queues a restore of every job's latest backup now; returns the jobs queued. */
  fire(): string[] {
    const queued: string[] = [];
    for (const jobId of this.#o.latest.jobIds()) {
      if (!this.#o.jobExists(jobId) || this.#pending.has(jobId)) continue;
      let backup: LatestBackup | undefined;
      try {
        backup = this.#o.latest.get(jobId);
      } catch (error) {
        this.#o.log.warn("the kept backup cannot be read: not restored", {
          job_id: jobId,
          error: (error as Error).message,
        });
        continue;
      }
      if (backup && this.#queue(backup)) queued.push(jobId);
    }
    return queued;
  }

  #queue(backup: LatestBackup): boolean {
    const log = this.#o.log.child("verify", { job_id: backup.jobId, run_id: backup.runId });
    const engine = backup.manifest?.engine;
    if (!engine) {
      log.warn(
        "not restored: the latest backup has no manifest (its dump's format gives none: " +
          "a DOCKER_EXEC SQLite file, or a pg_dump archive of a job without compression)",
      );
      return false;
    }
    let scratch: string | undefined;
    let dockerImage: string | undefined;
    const ofJob = this.#o.scratch.find((s) => s.job === backup.jobId)?.url.reveal();
    if (ofJob?.startsWith(DOCKER_IMAGE_PREFIX)) {
      dockerImage = ofJob.slice(DOCKER_IMAGE_PREFIX.length);
    }
    const takes: readonly string[] = dockerImage ? DOCKER_RESTORABLE_ENGINES : RESTORABLE_ENGINES;
    if (!takes.includes(engine)) {
      log.warn(
        `not restored: ${dockerImage ? "a docker-image restore" : "a restore here"} takes ` +
          `${takes.join(", ")} backups${
            !dockerImage && (DOCKER_RESTORABLE_ENGINES as readonly string[]).includes(engine)
              ? " (give the job a docker-image in BACKUPY_VERIFY_SCRATCH)"
              : ""
          }`,
        { engine },
      );
      return false;
    }
    if (!dockerImage && needsScratch(engine)) {
      const any = this.#o.scratch.find((s) => s.job === "*" && sameFamily(engine, engineOf(s)));
      scratch = ofJob ?? any?.url.reveal();
      if (!scratch) {
        log.warn("not restored: no scratch server for this job (BACKUPY_VERIFY_SCRATCH)", {
          engine,
        });
        return false;
      }
    }
    // The verifier reads a link of its own: a newer backup may replace the kept file meanwhile.
    const link = join(
      this.#o.workDir,
      `restore-${crypto.randomUUID()}.enc`,
    );
    try {
      Deno.linkSync(backup.path, link);
    } catch (error) {
      log.warn("not restored: the kept backup file is missing", {
        error: (error as Error).message,
      });
      return false;
    }
    this.#pending.add(backup.jobId);
    const release = async () => {
      this.#pending.delete(backup.jobId);
      await Deno.remove(link).catch(() => {});
    };
    importDek(backup.dek).then((key) =>
      this.#o.verifier.enqueue({
        jobId: backup.jobId,
        runId: backup.runId,
        file: link,
        key,
        sha256: backup.sha256,
        level: "restore",
        manifest: backup.manifest,
        scratch,
        dockerImage,
        release,
      })
    ).catch(release);
    return true;
  }
}

/** The engine a scratch URL names, as restore_check.ts reads it. */
function engineOf(server: ScratchServer): string {
  return engineName(targetFromUrl(server.url.reveal()).type) ?? "";
}
