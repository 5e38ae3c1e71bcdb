/**
 * `backupy-agent manifest`: the manifests service mode kept (restore
 * verification). Without `--run` it lists them; with `--run ID --out FILE`
 * it writes that run's manifest - still encrypted with the run's DEK, as
 * `verify --manifest` reads it - so a downloaded backup can be verified
 * against the facts of its dump with the backup's token.
 *
 * @module
 */
import type { Secret } from "../../decrypt/secret.ts";
import { BackupyError } from "../../decrypt/errors.ts";
import { SafeOutputFile } from "../../decrypt/safe_output_file.ts";
import { StateSealer } from "../state/state_sealer.ts";
import { StateStore } from "../state/state_store.ts";
import { type KeptManifest, MANIFESTS_KEPT, ManifestStore } from "../state/manifest_store.ts";

/** One kept manifest, as listed. */
export interface ListedManifest {
  run_id: string;
  job_id: string;
  created_at: string;
  backup_sha256: string;
}

function listed(kept: KeptManifest): ListedManifest {
  return {
    run_id: kept.runId,
    job_id: kept.jobId,
    created_at: new Date(kept.createdMs).toISOString(),
    backup_sha256: kept.backupSha256,
  };
}

/** The kept manifests, newest first. */
export function listManifests(stateDir: string): ListedManifest[] {
  const store = StateStore.openExisting(stateDir);
  try {
    return new ManifestStore(store).list().map(listed);
  } finally {
    store.close();
  }
}

/** Writes the manifest of `runId` to `out` (encrypted with the run's DEK). */
export async function exportManifest(
  stateDir: string,
  agentKey: Secret<string>,
  runId: string,
  out: string,
): Promise<ListedManifest> {
  const store = StateStore.openExisting(stateDir);
  let kept;
  try {
    kept = new ManifestStore(store).sealed(runId);
  } finally {
    store.close();
  }
  if (!kept) {
    throw new BackupyError(
      `no manifest kept for run ${JSON.stringify(runId)} (manifests are made with ` +
        `BACKUPY_VERIFY=manifest, and the last ${MANIFESTS_KEPT} of each job are kept)`,
    );
  }
  let encrypted: Uint8Array;
  try {
    encrypted = new StateSealer(agentKey).open("manifests", runId, kept.sealed);
  } catch (error) {
    throw new BackupyError(`the manifest of run ${runId}: ${(error as Error).message}`);
  }
  await SafeOutputFile.writeAll(out, encrypted);
  return listed(kept);
}
