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

/** One stored manifest. */
export interface StoredManifest {
  runId: string;
  jobId: string;
  createdMs: number;
  /** SHA-256 of the encrypted backup it describes. */
  backupSha256: string;
  /** The manifest encrypted with the run's DEK (v1 format). */
  encrypted: Uint8Array;
}

interface Row {
  run_id: string;
  job_id: string;
  created_ms: number;
  backup_sha256: string;
  manifest: Uint8Array;
}

/** The manifests table. */
export class ManifestStore {
  readonly #store: StateStore;

  /** Manifests in `store`. */
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

  /** The manifest of `runId`, opened with the agent key; undefined when none is kept. */
  get(runId: string): StoredManifest | undefined {
    const row = this.#store.db.prepare(
      "SELECT run_id, job_id, created_ms, backup_sha256, manifest FROM manifests WHERE run_id = ?",
    ).get(runId) as Row | undefined;
    return row ? this.#decode(row) : undefined;
  }

  /** Run ids with a kept manifest, newest first, optionally of one job. */
  runIds(jobId?: string): string[] {
    const rows =
      (jobId === undefined
        ? this.#store.all("SELECT run_id FROM manifests ORDER BY created_ms DESC, rowid DESC")
        : this.#store.all(
          "SELECT run_id FROM manifests WHERE job_id = ? ORDER BY created_ms DESC, rowid DESC",
          jobId,
        )) as { run_id: string }[];
    return rows.map((row) => row.run_id);
  }

  #decode(row: Row): StoredManifest {
    return {
      runId: row.run_id,
      jobId: row.job_id,
      createdMs: row.created_ms,
      backupSha256: row.backup_sha256,
      encrypted: this.#store.unseal("manifests", row.run_id, row.manifest),
    };
  }
}
