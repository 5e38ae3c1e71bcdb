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

/** The command's request, from its flags. */
export interface VerifyRequest extends KeyFlags {
  input: string;
  level: string;
}

/** Levels this build proves. */
export const VERIFY_LEVELS = ["structure"] as const;

/** Runs the verification; rejects only for usage errors and unreadable input. */
export async function verifyBackup(
  request: VerifyRequest,
  signal?: AbortSignal,
): Promise<VerifyReport> {
  if (!(VERIFY_LEVELS as readonly string[]).includes(request.level)) {
    throw new UsageError(
      `--level ${request.level}: this build proves ${
        VERIFY_LEVELS.join(", ")
      } (manifest and restore levels are not built yet)`,
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
  const file = await Deno.open(request.input, { read: true });
  const tempDir = await Deno.makeTempDir({ prefix: "backupy-verify-" });
  try {
    return await verifyStructure(fileSource(file), key, material.sha256, tempDir, signal);
  } finally {
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
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
