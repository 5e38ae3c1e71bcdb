/**
 * The manifest of a backup (restore verification): what was dumped - the
 * engine and its version, and per object the row count and the digest of
 * its rows - bound to the encrypted backup by its SHA-256, and stored
 * beside it encrypted with the same DEK in the v1 format (so
 * backupy-decrypt opens it too). Never inside the dump.
 *
 * @module
 */
import { concatBytes } from "../../decrypt/concat_bytes.ts";
import { decryptBackup } from "../../decrypt/decrypt_backup.ts";
import { BackupyError } from "../../decrypt/errors.ts";
import { FrameEncryptStream } from "../../decrypt/frame_encrypt_stream.ts";
import { SafeOutputFile } from "../../decrypt/safe_output_file.ts";
import { fileSource } from "../../decrypt/file_source.ts";

/**
 * Facts about what was dumped, collected while dumping (restore
 * verification builds on it). Engines fill what they know.
 */
export interface DumpManifest {
  /**
   * Objects (tables, collections) with their row counts and, where the
   * engine computes one, the order-independent digest of their rows
   * (row_digest.ts).
   */
  objects: { name: string; rows: number; digest?: string }[];
  /**
   * Where in the server's history the dump stands, when the engine can tell:
   * PostgreSQL `lsn` and `snapshot` (per database in a whole-server dump),
   * MariaDB `binlog_file`/`binlog_position` of the consistent snapshot.
   */
  snapshot?: Record<string, string>;
}

/** One dumped object. */
export interface ManifestObject {
  name: string;
  rows: number;
  /** row_digest.ts; absent when the engine computes none. */
  digest?: string;
}

/** The manifest, as stored (JSON). */
export interface BackupManifest {
  manifest_version: 1;
  engine: string;
  engine_version: string;
  created_at: string;
  /** SHA-256 of the encrypted backup this manifest belongs to. */
  backup_sha256: string;
  backup_bytes: number;
  dump_bytes: number;
  /** The dump's position in the server's history (DumpManifest.snapshot). */
  snapshot?: Record<string, string>;
  objects: ManifestObject[];
}

/** What the pipeline says about the backup a manifest describes. */
export interface ManifestedBackup {
  sha256: string;
  encryptedBytes: number;
  dumpedBytes: number;
}

/** The manifest of a finished backup from what the dump collected. */
function manifestFor(
  engine: string,
  engineVersion: string,
  backup: ManifestedBackup,
  dumped: DumpManifest,
): BackupManifest {
  return {
    manifest_version: 1,
    engine,
    engine_version: engineVersion,
    created_at: new Date().toISOString(),
    backup_sha256: backup.sha256,
    backup_bytes: backup.encryptedBytes,
    dump_bytes: backup.dumpedBytes,
    ...(dumped.snapshot ? { snapshot: dumped.snapshot } : {}),
    objects: dumped.objects,
  };
}

/**
 * The manifest of a finished backup, once its dump's facts are in; a dump
 * whose facts failed is still a good backup, so that is only `warn`ed.
 */
export async function finishedManifest(
  dump: { manifest?: Promise<DumpManifest | undefined> },
  engine: string,
  engineVersion: string,
  backup: ManifestedBackup,
  warn: (why: string) => void,
): Promise<BackupManifest | undefined> {
  const made = await dump.manifest?.catch((error) => {
    warn((error as Error).message);
    return undefined;
  });
  return made ? manifestFor(engine, engineVersion, backup, made) : undefined;
}

/** A manifest that cannot be read or does not belong to the backup. */
export class ManifestError extends BackupyError {}

/** Where local mode puts the manifest of `out`. */
export function manifestPathFor(out: string): string {
  return `${out}.manifest`;
}

/** The manifest as stored: its JSON encrypted with `key` in the v1 format. */
export async function encryptManifest(
  manifest: BackupManifest,
  key: CryptoKey,
): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  const chunks: Uint8Array[] = [];
  await ReadableStream.from([json]).pipeThrough(new FrameEncryptStream(key)).pipeTo(
    new WritableStream({ write: (chunk) => void chunks.push(chunk) }),
  );
  return concatBytes(chunks);
}

/**
 * Opens a stored manifest and checks its shape; `name` says where it came
 * from in messages.
 */
export async function decryptManifest(
  stored: ReadableStream<Uint8Array>,
  key: CryptoKey,
  name: string,
): Promise<BackupManifest> {
  const chunks: Uint8Array[] = [];
  try {
    await decryptBackup(stored, new WritableStream({ write: (c) => void chunks.push(c) }), {
      key,
      decompress: false,
    });
  } catch (error) {
    throw new ManifestError(
      `the manifest ${name} does not decrypt with this key: ${(error as Error).message}`,
    );
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(concatBytes(chunks)));
  } catch {
    throw new ManifestError(`the manifest ${name} is not JSON`);
  }
  if (
    manifest.manifest_version !== 1 || !Array.isArray(manifest.objects) || !manifest.backup_sha256
  ) {
    throw new ManifestError(`the manifest ${name} is not a version 1 manifest`);
  }
  return manifest;
}

/** Writes `manifest` to `path`, encrypted with `key`, safely (nothing half-written). */
export async function writeManifest(
  path: string,
  manifest: BackupManifest,
  key: CryptoKey,
): Promise<void> {
  await SafeOutputFile.writeAll(path, await encryptManifest(manifest, key));
}

/** Reads and checks the manifest at `path`. */
export async function readManifest(path: string, key: CryptoKey): Promise<BackupManifest> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new ManifestError(`cannot open the manifest ${path}: ${(error as Error).message}`);
  }
  return await decryptManifest(fileSource(file), key, path);
}
