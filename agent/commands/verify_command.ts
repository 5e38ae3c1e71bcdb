/**
 * `backupy-agent verify`: proves what a backup holds without restoring it
 * anywhere (the `structure` level: frames, compression, SHA-256 and the
 * dump's own format), reported as lines for a person or one JSON object.
 *
 * @module
 */
import { importDek } from "../../decrypt/dek.ts";
import { UsageError } from "../../decrypt/errors.ts";
import { type KeyFlags, resolveKeyMaterial } from "../../decrypt/key_material.ts";
import type { VerifyReport } from "../verify/verify_structure.ts";
import { VERIFY_LEVELS, verifyFile, type VerifyLevel } from "../verify/verify_backup.ts";
import { type BackupManifest, manifestPathFor, readManifest } from "../manifest/backup_manifest.ts";
import { DockerHost } from "../docker/docker_host.ts";

/** The command's request, from its flags. */
export interface VerifyRequest extends KeyFlags {
  input: string;
  level: string;
  /** The manifest (levels manifest and restore); default INPUT.manifest. */
  manifest?: string;
  /** Level restore, PostgreSQL: the server to restore on. */
  scratch?: string;
  /** Level restore: restore in a throwaway container of this image. */
  dockerImage?: string;
  /** The Docker engine's socket, for `dockerImage`. */
  dockerSocket?: string;
}

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
  if (request.dockerImage !== undefined && request.level !== "restore") {
    throw new UsageError("--docker-image goes with --level restore");
  }
  if (request.dockerImage !== undefined && request.scratch !== undefined) {
    throw new UsageError("give --scratch or --docker-image, not both");
  }
  const material = await resolveKeyMaterial(request, (line) => console.error(line));
  const key = await importDek(material.dek);
  const manifestPath = request.manifest ?? manifestPathFor(request.input);
  // The manifest beside the backup is read at every level: at `structure` it
  // gives the SHA-256 when neither a token nor --sha256 does. Level restore
  // goes on without one (a Redis backup may have none): the report says what that means.
  const found = request.manifest !== undefined ||
    await Deno.stat(manifestPath).then(() => true, () => false);
  let manifest: BackupManifest | undefined;
  let noSha256Why: string | undefined;
  if (found || request.level === "manifest") {
    try {
      manifest = await readManifest(manifestPath, key);
    } catch (error) {
      if (request.level !== "structure") throw error;
      noSha256Why = `the manifest could not be read (${(error as Error).message})`;
    }
  }
  return await verifyFile({
    input: request.input,
    key,
    level: request.level as VerifyLevel,
    expectedSha256: material.sha256 === undefined ? undefined : {
      sha256: material.sha256,
      source: request.sha256 !== undefined ? "--sha256" : "the token",
    },
    manifest,
    manifestSource: `the manifest ${manifestPath}`,
    noSha256Why,
    scratch: request.scratch,
    dockerImage: request.dockerImage === undefined ? undefined : {
      image: request.dockerImage,
      docker: new DockerHost(request.dockerSocket ?? "/var/run/docker.sock"),
    },
    signal,
  });
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
