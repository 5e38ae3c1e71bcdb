/**
 * `backupy-agent backup`: one backup without any control plane (docs/agent.md
 * section 4) through the same engine and pipeline as a server run, written
 * to a file (safely: nothing is left on failure) or to stdout.
 *
 * @module
 */
import { type Dek, dekFromKeyFile, importDek } from "../../decrypt/dek.ts";
import type { Compression } from "../../decrypt/decompress_stream.ts";
import { BackupyError, UsageError } from "../../decrypt/errors.ts";
import { fileSink } from "../../decrypt/file_sink.ts";
import { SafeOutputFile } from "../../decrypt/safe_output_file.ts";
import { readSmallFile } from "../../decrypt/small_file.ts";
import { Secret } from "../../decrypt/secret.ts";
import type { Engine } from "../engines/shared/engine.ts";
import { createEngine } from "../engines/registry.ts";
import { ConnectionStrategy } from "@backupy/gen/backup/v1/common_pb.ts";
import { DockerHost } from "../docker/docker_host.ts";
import { localDockerSocket } from "../docker/docker_socket.ts";
import { resolveDockerTarget } from "./docker_target.ts";
import { runBackupPipeline } from "../pipeline/backup_pipeline.ts";
import { withStreamManifest } from "../verify/stream_manifest.ts";
import { targetFromUrl, urlExtras } from "./target_url.ts";
import { finishedManifest, manifestPathFor, writeManifest } from "../manifest/backup_manifest.ts";

/** The request, from the command line. */
export interface LocalBackupRequest {
  target: string;
  out: string;
  keyFile?: string;
  generateKey?: string;
  compression: Compression;
  /** PostgreSQL: owners and grants too (--with-privileges). */
  includePrivileges?: boolean;
  /** Write OUT.manifest (default true; --no-manifest). */
  manifest?: boolean;
  tempDir: string;
  signal: AbortSignal;
  /** For a progress meter: the size estimate once known, then bytes dumped as they flow. */
  watch?: { onStart(estimate: number | undefined): void; onDumped(bytes: number): void };
}

/** What was written. */
export interface LocalBackupResult {
  sizeBytes: number;
  sha256: string;
  engineVersion: string;
  keyFile: string;
  dumpedBytes: number;
  durationMs: number;
  /** The manifest written beside the backup, when the engine made one. */
  manifestPath?: string;
}

/** Writes a fresh random DEK as 64 hex chars + newline, mode 0600; refuses an existing file. */
export async function generateKeyFile(path: string): Promise<Dek> {
  const dek = crypto.getRandomValues(new Uint8Array(32));
  try {
    await Deno.writeTextFile(path, `${dek.toHex()}\n`, { createNew: true, mode: 0o600 });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new BackupyError(
        `--generate-key ${path}: the file exists; refusing to overwrite a key`,
      );
    }
    throw new BackupyError(`--generate-key ${path}: ${(error as Error).message}`);
  }
  return new Secret(dek);
}

async function readKeyFile(path: string): Promise<Dek> {
  return dekFromKeyFile(await readSmallFile(path, "key file"));
}

/** Runs the backup; rejects with a typed error, leaving no partial output. */
export async function localBackup(request: LocalBackupRequest): Promise<LocalBackupResult> {
  if ((request.keyFile === undefined) === (request.generateKey === undefined)) {
    throw new UsageError("give exactly one of --key-file and --generate-key");
  }
  let target = targetFromUrl(request.target);
  let containers: DockerHost | undefined;
  if (target.connection?.strategy === ConnectionStrategy.DOCKER_EXEC) {
    containers = new DockerHost(localDockerSocket());
    target = await resolveDockerTarget(target, containers);
  }
  const engine = await createEngine(
    target,
    { tempDir: request.tempDir, containers },
    urlExtras(request.target),
  );
  const started = performance.now();
  const engineVersion = await engine.version(request.signal);
  const dek = request.keyFile !== undefined
    ? await readKeyFile(request.keyFile)
    : await generateKeyFile(request.generateKey!);
  try {
    const result = await backupWith(request, engine, engineVersion, await importDek(dek));
    return { ...result, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    // A key generated for a backup that failed protects nothing: do not leave it.
    if (request.generateKey !== undefined) await Deno.remove(request.generateKey).catch(() => {});
    throw error;
  }
}

async function backupWith(
  request: LocalBackupRequest,
  engine: Engine,
  engineVersion: string,
  key: CryptoKey,
): Promise<Omit<LocalBackupResult, "durationMs">> {
  if (request.watch) {
    request.watch.onStart(await engine.estimateSize(request.signal).catch(() => undefined));
  }
  // A manifest goes beside a file; not beside stdout, a pipe or /dev/null.
  const outFile = request.out !== "-" &&
    (await Deno.stat(request.out).then((info) => info.isFile, () => true));
  const manifest = outFile && request.manifest !== false;
  let dump = await engine.dump(request.signal, {
    warn: (message) => console.error(`warning: ${message}`),
    includePrivileges: request.includePrivileges,
    compressedDownstream: request.compression !== "none",
    manifest,
  });
  // Engines that collect no manifest while dumping get one read from their bytes.
  if (manifest) dump = await withStreamManifest(dump, request.tempDir);
  const common = {
    dump,
    format: engine.format,
    garbage: engine.dumpGarbage,
    compression: request.compression,
    key,
    signal: request.signal,
    onDumped: request.watch?.onDumped,
  };
  let result;
  let manifestPath: string | undefined;
  if (request.out === "-") {
    result = await runBackupPipeline({ ...common, sink: fileSink(Deno.stdout) });
  } else {
    await using output = await SafeOutputFile.create(request.out);
    result = await runBackupPipeline({ ...common, sink: output.writable });
    const made = await finishedManifest(
      dump,
      engine.name,
      engineVersion,
      result,
      (why) => console.error(`warning: no manifest for this backup: ${why}`),
    );
    // The manifest first: a backup without its manifest is still a backup,
    // a manifest without its backup would describe nothing.
    if (made) {
      manifestPath = manifestPathFor(request.out);
      await writeManifest(manifestPath, made, key);
    }
    await output.commit();
  }
  return {
    sizeBytes: result.encryptedBytes,
    sha256: result.sha256,
    engineVersion,
    keyFile: (request.keyFile ?? request.generateKey)!,
    dumpedBytes: result.dumpedBytes,
    manifestPath,
  };
}
