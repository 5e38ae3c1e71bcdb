/**
 * `backupy-agent manifest`: the manifests service mode kept (restore
 * verification). Without `--run` it lists them; with `--run ID --out FILE`
 * it writes that run's manifest - still encrypted with the run's DEK, as
 * `verify --manifest` reads it - so a downloaded backup can be verified
 * against the facts of its dump with the backup's token.
 *
 * @module
 */
import { join } from "node:path";
import type { Secret } from "../../decrypt/secret.ts";
import { BackupyError } from "../../decrypt/errors.ts";
import { SafeOutputFile } from "../../decrypt/safe_output_file.ts";
import { StateSealer } from "../state/state_sealer.ts";
import { STATE_FILE, StateStore } from "../state/state_store.ts";

/** One kept manifest, as listed. */
export interface KeptManifest {
  run_id: string;
  job_id: string;
  created_at: string;
  backup_sha256: string;
}

function openStore(stateDir: string): StateStore {
  try {
    Deno.statSync(join(stateDir, STATE_FILE));
  } catch {
    throw new BackupyError(`no agent state in ${stateDir}`);
  }
  // Opened without the key: reading must never set the state aside.
  return StateStore.open(stateDir);
}

/** The kept manifests, newest first. */
export function listManifests(stateDir: string): KeptManifest[] {
  const store = openStore(stateDir);
  try {
    return store.all(
      "SELECT run_id, job_id, created_ms, backup_sha256 FROM manifests " +
        "ORDER BY created_ms DESC, rowid DESC",
    ).map((row) => ({
      run_id: String(row.run_id),
      job_id: String(row.job_id),
      created_at: new Date(Number(row.created_ms)).toISOString(),
      backup_sha256: String(row.backup_sha256),
    }));
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
): Promise<KeptManifest> {
  const store = openStore(stateDir);
  let row: Record<string, unknown> | undefined;
  try {
    row = store.all(
      "SELECT run_id, job_id, created_ms, backup_sha256, manifest FROM manifests WHERE run_id = ?",
      runId,
    )[0];
  } finally {
    store.close();
  }
  if (!row) {
    throw new BackupyError(
      `no manifest kept for run ${JSON.stringify(runId)} (manifests are made with ` +
        `BACKUPY_VERIFY=manifest, and the last 10 of each job are kept)`,
    );
  }
  let encrypted: Uint8Array;
  try {
    encrypted = new StateSealer(agentKey).open("manifests", runId, row.manifest as Uint8Array);
  } catch (error) {
    throw new BackupyError(`the manifest of run ${runId}: ${(error as Error).message}`);
  }
  await SafeOutputFile.writeAll(out, encrypted);
  return {
    run_id: runId,
    job_id: String(row.job_id),
    created_at: new Date(Number(row.created_ms)).toISOString(),
    backup_sha256: String(row.backup_sha256),
  };
}
