/**
 * Manifests of service runs (restore verification), kept in the state
 * store: sealed like every secret there (they name tables and their row
 * counts), the newest few per job, under `manifest/<job>/<run>`.
 *
 * @module
 */
import type { BackupManifest } from "../manifest/backup_manifest.ts";
import type { StateStore } from "./state_store.ts";

/** How many manifests are kept per job. */
export const MANIFESTS_PER_JOB = 10;

const key = (jobId: string, runId: string) => `manifest/${jobId}/${runId}`;

/** The manifests of the last runs of each job. */
export class ManifestRecords {
  readonly #store: StateStore;
  readonly #keep: number;

  /** Keeps `keep` manifests per job in `store`. */
  constructor(store: StateStore, keep = MANIFESTS_PER_JOB) {
    this.#store = store;
    this.#keep = keep;
  }

  /** Stores the manifest of `runId` and drops the job's oldest beyond the limit. */
  put(jobId: string, runId: string, manifest: BackupManifest): void {
    const store = this.#store;
    store.transaction(() => {
      store.putSealed(key(jobId, runId), new TextEncoder().encode(JSON.stringify(manifest)));
      const prefix = `manifest/${jobId}/`;
      store.db.prepare(
        "DELETE FROM sealed WHERE key IN (SELECT key FROM sealed WHERE substr(key, 1, ?) = ? " +
          "ORDER BY updated_ms DESC, key DESC LIMIT -1 OFFSET ?)",
      ).run(prefix.length, prefix, this.#keep);
    });
  }

  /** The manifest of `runId`, if kept. */
  get(jobId: string, runId: string): BackupManifest | undefined {
    const bytes = this.#store.getSealed(key(jobId, runId));
    return bytes ? JSON.parse(new TextDecoder().decode(bytes)) as BackupManifest : undefined;
  }

  /** Run ids of the job's kept manifests, newest first. */
  runs(jobId: string): string[] {
    const prefix = `manifest/${jobId}/`;
    return this.#store.all(
      "SELECT key FROM sealed WHERE substr(key, 1, ?) = ? ORDER BY updated_ms DESC, key DESC",
      prefix.length,
      prefix,
    ).map((row) => String(row.key).slice(prefix.length));
  }
}
