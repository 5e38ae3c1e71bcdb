/**
 * Manifests of service-mode backups (restore verification): kept in the
 * state store for the last {@linkcode MANIFESTS_KEPT} runs of each job, so
 * a backup downloaded later can be checked against the facts of its dump.
 * Each is stored as `OUT.manifest` would be - encrypted with the run's DEK
 * in the v1 format, so whoever holds the backup's token can read it and
 * nobody else - and that is sealed once more with the agent key.
 *
 * @module
 */
import type { StateStore } from "./state_store.ts";

/** Manifests kept per job. */
export const MANIFESTS_KEPT = 10;

/** What is known of a kept manifest without opening it. */
export interface KeptManifest {
  runId: string;
  jobId: string;
  createdMs: number;
  /** SHA-256 of the encrypted backup it describes. */
  backupSha256: string;
}

/** The manifests table. */
export class ManifestStore {
  readonly #store: StateStore;

  /** Manifests in `store` (opened with the agent key to put; without, to read). */
  constructor(store: StateStore) {
    this.#store = store;
  }

  /** Keeps `encrypted` for `runId`; the job's oldest beyond the limit go. */
  put(jobId: string, runId: string, backupSha256: string, encrypted: Uint8Array): void {
    const store = this.#store;
    store.transaction(() => {
      store.db.prepare(
        "INSERT OR REPLACE INTO manifests (run_id, job_id, created_ms, backup_sha256, manifest) " +
          "VALUES (?, ?, ?, ?, ?)",
      ).run(runId, jobId, store.now(), backupSha256, store.seal("manifests", runId, encrypted));
      store.db.prepare(
        "DELETE FROM manifests WHERE job_id = ? AND run_id NOT IN " +
          "(SELECT run_id FROM manifests WHERE job_id = ? ORDER BY created_ms DESC, rowid DESC LIMIT ?)",
      ).run(jobId, jobId, MANIFESTS_KEPT);
    });
  }

  /** The kept manifests, newest first. */
  list(): KeptManifest[] {
    return this.#store.all(
      "SELECT run_id, job_id, created_ms, backup_sha256 FROM manifests " +
        "ORDER BY created_ms DESC, rowid DESC",
    ).map((row) => ({
      runId: String(row.run_id),
      jobId: String(row.job_id),
      createdMs: Number(row.created_ms),
      backupSha256: String(row.backup_sha256),
    }));
  }

  /**
   * The manifest of `runId` as stored - sealed with the agent key (table
   * `manifests`, row `runId`), inside it encrypted with the run's DEK -,
   * with what is known of it; undefined when none is kept.
   */
  sealed(runId: string): (KeptManifest & { sealed: Uint8Array }) | undefined {
    const row = this.#store.all(
      "SELECT run_id, job_id, created_ms, backup_sha256, manifest FROM manifests WHERE run_id = ?",
      runId,
    )[0];
    if (!row) return undefined;
    return {
      runId,
      jobId: String(row.job_id),
      createdMs: Number(row.created_ms),
      backupSha256: String(row.backup_sha256),
      sealed: row.manifest as Uint8Array,
    };
  }
}
