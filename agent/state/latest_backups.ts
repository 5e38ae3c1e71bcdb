/**
 * The latest backup of each job, kept on this host for scheduled restore
 * verification (BACKUPY_VERIFY_RESTORE_CRON): the encrypted file as it was
 * uploaded, in `STATE_DIR/latest/`, and beside it in the state store,
 * sealed with the agent key, what a restore needs - its DEK, SHA-256 and
 * manifest. A newer backup of the job replaces both.
 *
 * @module
 */
import { join } from "node:path";
import { type Dek, dekFromBytes } from "../../decrypt/dek.ts";
import type { BackupManifest } from "../manifest/backup_manifest.ts";
import type { StateStore } from "./state_store.ts";

/** A kept backup. */
export interface LatestBackup {
  jobId: string;
  runId: string;
  /** The encrypted file. */
  path: string;
  dek: Dek;
  sha256: string;
  manifest?: BackupManifest;
  keptMs: number;
}

interface SealedFacts {
  run_id: string;
  file: string;
  dek: string;
  sha256: string;
  manifest?: BackupManifest;
  kept_ms: number;
}

const PREFIX = "latest_backup:";

/** The kept backups of one state directory. */
export class LatestBackups {
  readonly #store: StateStore;
  readonly dir: string;

  /** Backups of `store`, files in `stateDir/latest`. */
  constructor(store: StateStore, stateDir: string) {
    this.#store = store;
    this.dir = join(stateDir, "latest");
  }

  /**
   * Makes `file` (moved, not copied: it must be on the state directory's
   * filesystem) the latest backup of `jobId`; the previous one is removed.
   */
  async keep(
    jobId: string,
    runId: string,
    file: string,
    facts: { dek: Dek; sha256: string; manifest?: BackupManifest },
  ): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const previous = this.get(jobId);
    const name = `${jobId}-${runId}`.replace(/[^A-Za-z0-9._-]/g, "_") + ".enc";
    await Deno.rename(file, join(this.dir, name));
    const sealed: SealedFacts = {
      run_id: runId,
      file: name,
      dek: facts.dek.reveal().toHex(),
      sha256: facts.sha256,
      manifest: facts.manifest,
      kept_ms: this.#store.now(),
    };
    this.#store.putSealed(PREFIX + jobId, new TextEncoder().encode(JSON.stringify(sealed)));
    // Removed after the new one is recorded: a crash in between leaves a stray file, never no backup.
    if (previous && previous.path !== join(this.dir, name)) {
      await Deno.remove(previous.path).catch(() => {});
    }
  }

  /** The latest backup of `jobId`, when one is kept and its file is there. */
  get(jobId: string): LatestBackup | undefined {
    const bytes = this.#store.getSealed(PREFIX + jobId);
    if (!bytes) return undefined;
    const facts = JSON.parse(new TextDecoder().decode(bytes)) as SealedFacts;
    return {
      jobId,
      runId: facts.run_id,
      path: join(this.dir, facts.file),
      dek: dekFromBytes(Uint8Array.fromHex(facts.dek), "the kept DEK"),
      sha256: facts.sha256,
      manifest: facts.manifest,
      keptMs: facts.kept_ms,
    };
  }

  /** Jobs with a kept backup. */
  jobIds(): string[] {
    return this.#store.all(
      "SELECT key FROM sealed WHERE substr(key, 1, ?) = ? ORDER BY key",
      PREFIX.length,
      PREFIX,
    )
      .map((row) => String(row.key).slice(PREFIX.length));
  }
}
