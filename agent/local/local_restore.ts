/**
 * `backupy-agent restore`: puts a backup made by this agent back into a
 * database without any server tooling (docs/agent.md section 4): the v1 file is
 * verified end to end first (every frame, the SHA-256, the compressed
 * stream), then decrypted, decompressed and replayed by the target's engine.
 *
 * @module
 */
import { decryptBackup } from "../../decrypt/decrypt_backup.ts";
import { dekFromKeyFile, importDek } from "../../decrypt/dek.ts";
import { BackupyError, UsageError } from "../../decrypt/errors.ts";
import { fileSource } from "../../decrypt/file_source.ts";
import { readSmallFile } from "../../decrypt/small_file.ts";
import type { RestoreOptions, RestoreResult } from "../engines/shared/engine.ts";
import type { RestoreOption } from "../engines/shared/engine_module.ts";
import { createEngine, engineModule, ENGINES } from "../engines/registry.ts";
import { targetFromUrl, urlExtras } from "./target_url.ts";

/** The request, from the command line. */
export interface LocalRestoreRequest {
  target: string;
  /** The encrypted backup file. */
  input: string;
  /** Told each pass's reader, whose byte count is the progress through the file. */
  onPass?: (pass: "verify" | "restore", reader: { bytes: number }, size: number) => void;
  keyFile: string;
  sha256?: string;
  skipDecompress: boolean;
  /** --clean, --no-single-transaction, --replace, --drop, --rename: each family takes its own. */
  restoreOptions?: RestoreOptions;
  tempDir: string;
  signal: AbortSignal;
}

async function open(path: string): Promise<ReadableStream<Uint8Array>> {
  try {
    return fileSource(await Deno.open(path, { read: true }));
  } catch (error) {
    throw new BackupyError(`cannot open --in ${path}: ${(error as Error).message}`);
  }
}

/** Each option some families honour: its flag, and whether the request asks for it. */
const RESTORE_FLAGS: readonly [RestoreOption, string, (o: RestoreOptions) => boolean][] = [
  ["clean", "--clean", (o) => o.clean === true],
  ["singleTransaction", "--no-single-transaction", (o) => o.singleTransaction === false],
  ["replace", "--replace", (o) => o.replace === true],
  ["drop", "--drop", (o) => o.drop === true],
  ["rename", "--rename", (o) => (o.rename?.length ?? 0) > 0],
];

/** Verifies, then restores; rejects with a typed error. */
export async function localRestore(request: LocalRestoreRequest): Promise<RestoreResult> {
  const target = targetFromUrl(request.target);
  const engine = await createEngine(
    target,
    { tempDir: request.tempDir },
    urlExtras(request.target),
  );
  if (!engine.restore) {
    const family = engineModule(engine.name);
    throw new UsageError(
      `backupy-agent restore does not restore ${family.title} backups yet: ${
        family.manualRestore ?? "see the README"
      }`,
    );
  }
  const restoreOptions = request.restoreOptions ?? {};
  const honoured = engineModule(engine.name).restoreOptions ?? [];
  const refused = RESTORE_FLAGS.find(([option, , asked]) =>
    asked(restoreOptions) && !honoured.includes(option)
  );
  if (refused) {
    const [option, flag] = refused;
    const takers = ENGINES.filter((e) => e.restoreOptions?.includes(option)).map((e) => e.title);
    throw new UsageError(`${flag} applies to ${takers.join(", ")} targets only`);
  }
  const key = await importDek(dekFromKeyFile(await readSmallFile(request.keyFile, "key file")));
  const size = (await Deno.stat(request.input).catch(() => ({ size: 0 }))).size;
  const options = (pass: "verify" | "restore") => ({
    key,
    expectedSha256: request.sha256?.toLowerCase(),
    decompress: !request.skipDecompress,
    signal: request.signal,
    onStart: (reader: { bytes: number }) => request.onPass?.(pass, reader, size),
  });
  // First pass: prove the whole file before a single statement touches the database.
  await decryptBackup(await open(request.input), new WritableStream(), options("verify"));
  // Second pass: stream it into the engine.
  const plain = new TransformStream<Uint8Array, Uint8Array>();
  const writer = plain.writable.getWriter();
  const feeding = decryptBackup(
    await open(request.input),
    new WritableStream({ write: (chunk) => writer.write(chunk) }),
    options("restore"),
  ).then(
    () => writer.close(),
    (error) => {
      writer.abort(error).catch(() => {});
      throw error;
    },
  );
  const [restored, fed] = await Promise.allSettled([
    engine.restore(plain.readable, request.signal, restoreOptions).catch((error) => {
      // An engine that refuses before reading must not leave the feeder
      // waiting on backpressure (an abort would wait for that write first).
      if (!plain.readable.locked) plain.readable.cancel(error).catch(() => {});
      throw error;
    }),
    feeding,
  ]);
  // The engine's reason comes first: when it stops reading, feeding fails only as a consequence.
  if (restored.status === "rejected") throw restored.reason;
  if (fed.status === "rejected") throw fed.reason;
  return restored.value;
}
