/**
 * One attempt of a run (docs/agent.md section 3, steps 3-4 and 10): pre-hooks,
 * then dump -> compress -> encrypt into a staged file in the state
 * directory, then one PUT of it. Every step reports progress; the staged
 * file is removed on every exit path.
 *
 * @module
 */
import { join } from "node:path";
import type {
  BackupJobSpec,
  RunBackup,
  Target,
} from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import type { Compression } from "../../decrypt/decompress_stream.ts";
import { fileSink } from "../../decrypt/file_sink.ts";
import { Secret } from "../../decrypt/secret.ts";
import { createEngine, type EngineContext } from "../engines/registry.ts";
import type { Logger } from "../log/logger.ts";
import { type BackupManifest, finishedManifest } from "../manifest/backup_manifest.ts";
import { runBackupPipeline } from "../pipeline/backup_pipeline.ts";
import { withStreamManifest } from "../verify/stream_manifest.ts";
import { type UploadError, uploadStaged } from "../pipeline/presigned_upload.ts";
import { type HookLimits, runHooks } from "./hook_runner.ts";

/** Everything an attempt needs. */
export interface AttemptContext {
  request: RunBackup;
  job: BackupJobSpec;
  target: Target;
  key: CryptoKey;
  compression: Compression;
  stagingDir: string;
  engines: EngineContext;
  signal: AbortSignal;
  log: Logger;
  hookLimits: HookLimits;
  hookBudget: { remainingMs: number };
  /** Environment for hooks (secrets already removed). */
  hookEnv: Record<string, string>;
  /** Reports the current step and an honest percentage. */
  progress(step: string, percent: number): void;
  /** Any byte of progress (feeds the stall watchdog). */
  activity(): void;
  /** An upload retry happened. */
  uploadRetried(error: UploadError): void;
  /** Collect the dump's manifest (someone verifies against it). */
  collectManifest?: boolean;
  /** Leave the staged file of a successful attempt for the caller (verification). */
  keepStaged?: boolean;
}

/** What a successful attempt produced. */
export interface AttemptResult {
  sizeBytes: number;
  sha256: string;
  engineVersion: string;
  /** The dump's manifest, when asked for and the engine made one. */
  manifest?: BackupManifest;
  /** The staged encrypted file, when `keepStaged`: now the caller's to remove. */
  staged?: string;
}

/** The staged file of a run. */
export function stagedPath(stagingDir: string, runId: string): string {
  return join(stagingDir, `${runId.replace(/[^A-Za-z0-9._-]/g, "_")}.enc`);
}

/** Runs one attempt; throws on any failure. */
export async function runAttempt(ctx: AttemptContext): Promise<AttemptResult> {
  const { request, job, log } = ctx;
  if (job.preHooks.length > 0) {
    ctx.progress("hooks", 0);
    await runHooks(job.preHooks, {
      env: ctx.hookEnv,
      signal: ctx.signal,
      limits: ctx.hookLimits,
      budget: ctx.hookBudget,
      stopOnFailure: true,
      containers: ctx.engines.containers,
      onResult: (result) =>
        log.info("pre-hook finished", {
          code: result.code,
          timed_out: result.timedOut,
          duration_ms: result.durationMs,
          stdout_tail: result.stdoutTail,
          stderr_tail: result.stderrTail,
        }),
    });
  }

  ctx.progress("connecting", 0);
  const engine = await createEngine(ctx.target, ctx.engines);
  const engineVersion = await engine.version(ctx.signal);
  const estimate = await engine.estimateSize(ctx.signal).catch(() => undefined);

  await Deno.mkdir(ctx.stagingDir, { recursive: true, mode: 0o700 });
  const staged = stagedPath(ctx.stagingDir, request.runId);
  let kept = false;
  try {
    ctx.progress("dumping", 0);
    let dump = await engine.dump(ctx.signal, {
      warn: (message) => log.warn(message),
      compressedDownstream: ctx.compression !== "none",
      manifest: ctx.collectManifest === true,
    });
    // Engines that collect no manifest while dumping get one read from their bytes.
    if (ctx.collectManifest) dump = await withStreamManifest(dump, ctx.stagingDir);
    let result;
    {
      using file = await Deno.open(staged, {
        write: true,
        create: true,
        truncate: true,
        mode: 0o600,
      });
      result = await runBackupPipeline({
        dump,
        format: engine.format,
        garbage: engine.dumpGarbage,
        compression: ctx.compression,
        key: ctx.key,
        sink: fileSink(file),
        signal: ctx.signal,
        onDumped: (bytes) => {
          ctx.activity();
          // Dumping is most of the work: 0-90% by bytes against the engine's estimate.
          const percent = estimate && estimate > 0
            ? Math.min(90, Math.floor((bytes / estimate) * 90))
            : 0;
          ctx.progress("dumping", percent);
        },
      });
      await file.sync();
    }
    log.info("dump finished", {
      dumped_bytes: result.dumpedBytes,
      encrypted_bytes: result.encryptedBytes,
      engine_version: engineVersion,
    });
    const manifest = await finishedManifest(
      dump,
      engine.name,
      engineVersion,
      result,
      (why) => log.warn("no manifest for this backup", { error: why }),
    );

    ctx.progress("uploading", 90);
    const url = new Secret(request.uploadCreds!.presignedPutUrl);
    await uploadStaged(staged, result.encryptedBytes, url, {
      signal: ctx.signal,
      onSent: (sent) => {
        ctx.activity();
        ctx.progress("uploading", 90 + Math.floor((sent / Math.max(1, result.encryptedBytes)) * 9));
      },
      onRetry: (retry, error) => {
        log.warn("upload failed, retrying", { retry, error: error.message });
        ctx.uploadRetried(error);
      },
    });
    kept = ctx.keepStaged === true;
    return {
      sizeBytes: result.encryptedBytes,
      sha256: result.sha256,
      engineVersion,
      manifest,
      staged: kept ? staged : undefined,
    };
  } finally {
    if (!kept) await Deno.remove(staged).catch(() => {});
  }
}
