/**
 * Verification of one encrypted backup at a level (structure, manifest,
 * restore) with the key already in hand: what `backupy-agent verify` runs
 * after resolving its flags, and what service mode runs after a backup.
 * Every check runs even when an earlier one failed, so the report names
 * each problem.
 *
 * @module
 */
import { fileSource } from "../../decrypt/file_source.ts";
import type { BackupManifest } from "../manifest/backup_manifest.ts";
import { compareObjects } from "./compare_manifest.ts";
import { restoreCheck } from "./restore_check.ts";
import { dockerRestoreCheck } from "./docker_restore_check.ts";
import type { DockerHost } from "../docker/docker_host.ts";
import { type ExpectedSha256, type VerifyReport, verifyStructure } from "./verify_structure.ts";
import { familyOfFormat } from "../engines/registry.ts";

/** Levels this build proves, weakest first. */
export const VERIFY_LEVELS = ["structure", "manifest", "restore"] as const;
/** One of {@linkcode VERIFY_LEVELS}. */
export type VerifyLevel = typeof VERIFY_LEVELS[number];

/** What to verify and how far. */
export interface VerifyFileRequest {
  /** The encrypted backup. */
  input: string;
  /** Its DEK. */
  key: CryptoKey;
  level: VerifyLevel;
  /** The SHA-256 the backup must have (token, flag); the manifest's when absent. */
  expectedSha256?: ExpectedSha256;
  /** Required above `structure`; at `structure`, where the SHA-256 comes from when no other is given. */
  manifest?: BackupManifest;
  /** Where `manifest` was read from, for the report ("the manifest F.manifest"). */
  manifestSource?: string;
  /** Why there is no SHA-256 to compare with, when neither it nor a manifest is given. */
  noSha256Why?: string;
  /** Level restore, PostgreSQL and MySQL/MariaDB: the server to restore on. */
  scratch?: string;
  /** Level restore: restore in a throwaway container of this image instead (with `docker`). */
  dockerImage?: { image: string; docker: DockerHost };
  /** Where temporary copies go (SQLite); removed afterwards. */
  tempParent?: string;
  signal?: AbortSignal;
}

/** Verifies `request.input`; rejects only when the file cannot be opened. */
export async function verifyFile(request: VerifyFileRequest): Promise<VerifyReport> {
  const { manifest, key } = request;
  if (request.level === "manifest" && !manifest) {
    throw new Error("internal error: level manifest needs the backup's manifest");
  }
  const file = await Deno.open(request.input, { read: true });
  const tempDir = await Deno.makeTempDir({ dir: request.tempParent, prefix: "backupy-verify-" });
  let report: VerifyReport;
  try {
    report = await verifyStructure(
      fileSource(file),
      key,
      request.expectedSha256 ??
        (manifest
          ? { sha256: manifest.backup_sha256, source: request.manifestSource ?? "the manifest" }
          : request.noSha256Why ??
            "give --sha256, a token that names it, or the manifest written beside the backup"),
      tempDir,
      request.signal,
      request.level !== "structure",
    );
  } finally {
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
  if (request.level === "structure") return report;
  // A snapshot without a manifest (a Redis backup made with --no-manifest, or by an agent
  // before manifests had Redis): in a container, loading it is what restore proves.
  const loadOnly = !manifest && request.level === "restore" && request.dockerImage !== undefined &&
    report.format !== undefined &&
    familyOfFormat(report.format)?.dockerRestore?.kind === "snapshot";
  let manifestOk = true;
  if (!loadOnly) {
    const problems: string[] = [];
    if (!manifest) {
      problems.push(
        "no manifest for this backup: the restore level compares the restored copy with it",
      );
    } else {
      if (manifest.backup_sha256 !== report.sha256) {
        problems.push(
          `the manifest belongs to the backup with SHA-256 ${manifest.backup_sha256}, not this file`,
        );
      }
      if (manifest.objects.length === 0) {
        problems.push(
          `the manifest lists no objects: ${manifest.engine} backups carry no per-object facts yet`,
        );
      }
      problems.push(...compareObjects(manifest.objects, report.objects));
    }
    report.level = "manifest";
    manifestOk = problems.length === 0;
    report.checks.push({
      name: "manifest",
      ok: manifestOk,
      detail: manifestOk
        ? `${manifest!.objects.length} objects: row counts and digests equal the manifest's (${
          manifest!.engine_version
        }, ${manifest!.created_at}${
          manifest!.snapshot
            ? `, at ${Object.entries(manifest!.snapshot).map(([k, v]) => `${k} ${v}`).join(", ")}`
            : ""
        })`
        : problems.join("; "),
    });
  }
  if (request.level === "restore") {
    report.level = "restore";
    if (!report.ok || !manifestOk) {
      report.checks.push({
        name: "restore",
        ok: false,
        detail: "not attempted: the backup did not pass the structure and manifest checks",
      });
    } else {
      const scratchDir = await Deno.makeTempDir({
        dir: request.tempParent,
        prefix: "backupy-verify-restore-",
      });
      try {
        const signal = request.signal ?? new AbortController().signal;
        const restoring = request.dockerImage
          ? dockerRestoreCheck({
            input: request.input,
            key,
            manifest,
            format: report.format,
            image: request.dockerImage.image,
            docker: request.dockerImage.docker,
            signal,
          })
          : restoreCheck({
            input: request.input,
            key,
            manifest: manifest!,
            scratch: request.scratch,
            tempDir: scratchDir,
            signal,
          });
        report.checks.push(
          await restoring.catch((error) => ({
            name: "restore" as const,
            ok: false,
            detail: `the restore failed: ${
              error instanceof Error ? error.message : String(error ?? "no reason given")
            }`,
          })),
        );
      } finally {
        await Deno.remove(scratchDir, { recursive: true }).catch(() => {});
      }
    }
  }
  report.ok = report.checks.every((c) => c.ok);
  return report;
}
