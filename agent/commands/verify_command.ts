/**
 * `backupy-agent verify`: proves what a backup holds without restoring it
 * anywhere (the `structure` level: frames, compression, SHA-256 and the
 * dump's own format), reported as lines for a person or one JSON object.
 *
 * @module
 */
import { importDek } from "../../decrypt/dek.ts";
import { UsageError } from "../../decrypt/errors.ts";
import { fileSource } from "../../decrypt/file_source.ts";
import { type KeyFlags, resolveKeyMaterial } from "../../decrypt/key_material.ts";
import { type VerifyReport, verifyStructure } from "../verify/verify_structure.ts";
import { compareObjects } from "../verify/compare_manifest.ts";
import { restoreCheck } from "../verify/restore_check.ts";
import { type BackupManifest, manifestPathFor, readManifest } from "../manifest/backup_manifest.ts";

/** The command's request, from its flags. */
export interface VerifyRequest extends KeyFlags {
  input: string;
  level: string;
  /** The manifest (levels manifest and restore); default INPUT.manifest. */
  manifest?: string;
  /** Level restore, PostgreSQL: the server to restore on. */
  scratch?: string;
}

/** Levels this build proves. */
export const VERIFY_LEVELS = ["structure", "manifest", "restore"] as const;

/** Runs the verification; rejects only for usage errors and unreadable input. */
export async function verifyBackup(
  request: VerifyRequest,
  signal?: AbortSignal,
): Promise<VerifyReport> {
  if (!(VERIFY_LEVELS as readonly string[]).includes(request.level)) {
    throw new UsageError(
      `--level ${request.level}: the levels are ${VERIFY_LEVELS.join(", ")}`,
    );
  }
  const sources = [request.keyFile, request.token, request.tokenFile].filter((v) =>
    v !== undefined
  );
  if (sources.length !== 1) {
    throw new UsageError("give exactly one of --key-file, --token and --token-file");
  }
  const material = await resolveKeyMaterial(request, (line) => console.error(line));
  const key = await importDek(material.dek);
  let manifest: BackupManifest | undefined;
  let expectedSha256 = material.sha256;
  if (request.level !== "structure") {
    manifest = await readManifest(request.manifest ?? manifestPathFor(request.input), key);
    expectedSha256 ??= manifest.backup_sha256;
  }
  const file = await Deno.open(request.input, { read: true });
  const tempDir = await Deno.makeTempDir({ prefix: "backupy-verify-" });
  let report: VerifyReport;
  try {
    report = await verifyStructure(
      fileSource(file),
      key,
      expectedSha256,
      tempDir,
      signal,
      request.level !== "structure",
    );
  } finally {
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
  if (!manifest) return report;
  const problems: string[] = [];
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
  report.level = "manifest";
  const manifestOk = problems.length === 0;
  report.checks.push({
    name: "manifest",
    ok: problems.length === 0,
    detail: problems.length === 0
      ? `${manifest.objects.length} objects: row counts and digests equal the manifest's (${manifest.engine_version}, ${manifest.created_at})`
      : problems.join("; "),
  });
  if (request.level === "restore") {
    report.level = "restore";
    if (!report.ok || !manifestOk) {
      report.checks.push({
        name: "restore",
        ok: false,
        detail: "not attempted: the backup did not pass the structure and manifest checks",
      });
    } else {
      const scratchDir = await Deno.makeTempDir({ prefix: "backupy-verify-restore-" });
      try {
        report.checks.push(
          await restoreCheck({
            input: request.input,
            key,
            manifest,
            scratch: request.scratch,
            tempDir: scratchDir,
            signal: signal ?? new AbortController().signal,
          }).catch((error) => ({
            name: "restore" as const,
            ok: false,
            detail: `the restore failed: ${(error as Error).message}`,
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

/** The report as lines for a person. */
export function formatVerifyReport(report: VerifyReport, input: string): string[] {
  const lines = [
    report.ok
      ? `OK: ${input}: level ${report.level} proved (${report.format})`
      : `FAILED: ${input}: level ${report.level} not proved`,
  ];
  for (const check of report.checks) {
    lines.push(`  ${check.ok ? "ok  " : "FAIL"} ${check.name}: ${check.detail}`);
  }
  for (const object of report.objects) lines.push(`       ${object.name}: ${object.rows}`);
  return lines;
}
