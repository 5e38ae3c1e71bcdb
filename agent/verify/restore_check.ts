/**
 * `verify --level restore`: restore the backup for real - SQLite into a
 * temporary file, PostgreSQL and MySQL/MariaDB into a temporary database on
 * the `--scratch` server - with the agent's own native restore, dump the result again with
 * its own engine, and compare every object's rows and digest with the
 * manifest. The scratch database or file is removed on every path.
 *
 * @module
 */
import { join } from "node:path";
import { decryptBackup } from "../../decrypt/decrypt_backup.ts";
import { fileSource } from "../../decrypt/file_source.ts";
import type { Engine, RestoreOptions } from "../engines/shared/engine.ts";
import type { EngineName } from "../engines/registry.ts";
import { create } from "@bufbuild/protobuf";
import {
  ConnectionConfigSchema,
  type Target,
  TargetSchema,
} from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import {
  createEngine,
  dbTypeOf,
  engineModule,
  engineName,
  ENGINES,
  isEngineName,
  sameFamily as sameEngineFamily,
  SCRATCH_RESTORABLE_ENGINES,
  targetFromEngineUrl,
  urlExtras,
} from "../engines/registry.ts";
import type { BackupManifest } from "../manifest/backup_manifest.ts";
import type { EngineModule } from "../engines/shared/engine_module.ts";
import { compareObjects } from "./compare_manifest.ts";
import type { VerifyCheck } from "./verify_structure.ts";
import { withStreamManifest } from "./stream_manifest.ts";

/** What a restore check needs. */
export interface RestoreCheckRequest {
  input: string;
  key: CryptoKey;
  manifest: BackupManifest;
  /** PostgreSQL: the server (and credentials) to restore on, as a postgres:// URL. */
  scratch?: string;
  tempDir: string;
  signal: AbortSignal;
}

/** Engines whose backups the restore level restores without Docker in this build. */
export const RESTORABLE_ENGINES: readonly string[] = SCRATCH_RESTORABLE_ENGINES;

/** Whether a backup of `engine` needs a scratch server to be restored (not a file). */
export function needsScratch(engine: string): boolean {
  const kind = isEngineName(engine) ? engineModule(engine).scratchRestore : undefined;
  return kind === "database" || kind === "prefixed" || kind === "server";
}

/** Whether a scratch server of engine `scratch` can take a backup of `backup`. */
export function sameFamily(backup: string, scratch: string): boolean {
  return isEngineName(backup) && isEngineName(scratch) && sameEngineFamily(backup, scratch);
}

/** Streams the decrypted, decompressed dump into `restore`. */
export async function restoreFrom(
  input: string,
  key: CryptoKey,
  signal: AbortSignal,
  restore: (source: ReadableStream<Uint8Array>) => Promise<unknown>,
): Promise<void> {
  // Erroring the pipe itself (not aborting its writable, which waits for a
  // write the stalled restore never takes) frees both sides at once.
  let pipeController!: TransformStreamDefaultController<Uint8Array>;
  const pipe = new TransformStream<Uint8Array, Uint8Array>({
    start: (controller) => void (pipeController = controller),
  });
  const onAbort = () => pipeController.error(signal.reason ?? new Error("interrupted"));
  signal.addEventListener("abort", onAbort, { once: true });
  // A restore that fails stops reading, which cancels the pipe with no reason:
  // the writer then fails with `undefined`, and the restore's error is the one to report.
  let restoreFailure: { error: unknown } | undefined;
  const restoring = restore(pipe.readable).catch((error) => {
    restoreFailure = { error };
    throw error;
  });
  try {
    await decryptBackup(fileSource(await Deno.open(input, { read: true })), pipe.writable, {
      key,
      decompress: true,
      signal,
    });
    await pipe.writable.close();
  } catch (error) {
    await pipe.writable.abort(error).catch(() => {});
    // A restore cut off mid-statement may never settle (its connection is
    // gone): give it a moment, then go on to drop what it made.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      restoring.catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, 5000))),
    ]);
    clearTimeout(timer);
    if (restoreFailure) throw restoreFailure.error;
    throw error ?? new Error("the restore stopped reading the backup before its end");
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  await restoring;
}

/**
 * Restores the backup into `engine`, then reads it back: when the restore
 * ended, the restored copy's size as the engine reports it, and the objects
 * its dump counted.
 */
async function restoreAndReread(
  engine: Engine,
  request: RestoreCheckRequest,
  options?: RestoreOptions,
) {
  await restoreFrom(
    request.input,
    request.key,
    request.signal,
    (s) => engine.restore!(s, request.signal, options),
  );
  const restoredAt = performance.now();
  const size = await engine.estimateSize().catch(() => undefined);
  const found = await reread(engine, request.signal, request.tempDir);
  return { restoredAt, size, found };
}

/** Dumps `engine` again and returns the objects its manifest counted. */
async function reread(engine: Engine, signal: AbortSignal, tempDir: string) {
  // Engines that collect no manifest while dumping (Redis) have one read from their bytes.
  const dump = await withStreamManifest(await engine.dump(signal, { manifest: true }), tempDir);
  await dump.readable.pipeTo(new WritableStream());
  await dump.finished;
  return (await dump.manifest!)!.objects;
}

/** The scratch server's Target for a backup of `engine`, or why there is none. */
function scratchTarget(
  request: RestoreCheckRequest,
  family: EngineModule,
  what: string,
): Target | string {
  const scheme = Object.keys(family.schemes)[0];
  const engine = request.manifest.engine;
  if (!request.scratch) {
    return `restoring a ${engine} backup needs ${what} ` +
      `(--scratch ${scheme}//..., or BACKUPY_VERIFY_SCRATCH in service mode)`;
  }
  const target = targetFromEngineUrl(request.scratch);
  const name = engineName(target.type);
  if (name === undefined || !sameFamily(engine, name)) {
    return `the scratch server must be a ${scheme}// URL for a ${engine} backup`;
  }
  return target;
}

/** Restores, re-reads and compares; the check says what it proved or why not. */
export async function restoreCheck(request: RestoreCheckRequest): Promise<VerifyCheck> {
  const { manifest } = request;
  const fail = (detail: string): VerifyCheck => ({ name: "restore", ok: false, detail });
  if (manifest.objects.some((o) => o.name.includes("/"))) {
    return fail("a dump of a whole server cannot be restored into one scratch database");
  }
  const started = performance.now();
  let restoredAt = started;
  let found: Awaited<ReturnType<typeof reread>> | undefined;
  // How big the restored copy is, as the engine sizes a database it dumps.
  let size: number | undefined;
  const family = isEngineName(manifest.engine) ? engineModule(manifest.engine) : undefined;
  if (family?.scratchRestore === "file") {
    const path = join(request.tempDir, "restored");
    const target = create(TargetSchema, {
      id: "verify",
      type: dbTypeOf(manifest.engine as EngineName),
      connection: create(ConnectionConfigSchema, { database: path }),
    });
    const engine = await createEngine(target, { tempDir: request.tempDir });
    try {
      ({ restoredAt, size, found } = await restoreAndReread(engine, request));
    } finally {
      // The file and what SQLite keeps beside it.
      for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
    }
  } else if (family?.scratchRestore === "database") {
    const target = scratchTarget(request, family, "a scratch server");
    if (typeof target === "string") return fail(target);
    const database = `backupy_verify_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    target.connection!.database = database;
    const engine = await createEngine(
      target,
      { tempDir: request.tempDir },
      urlExtras(request.scratch!),
    );
    // An interrupted restore ends its connections with queries in flight, and
    // postgres.js fails those from a timer, outside any await: that must not
    // end the process before the scratch database is dropped.
    const swallow = (event: Event) => {
      if (request.signal.aborted) event.preventDefault();
    };
    globalThis.addEventListener("error", swallow);
    globalThis.addEventListener("unhandledrejection", swallow);
    try {
      ({ restoredAt, size, found } = await restoreAndReread(engine, request));
    } finally {
      await engine.dropDatabase?.(database);
      globalThis.removeEventListener("error", swallow);
      globalThis.removeEventListener("unhandledrejection", swallow);
    }
  } else if (family?.scratchRestore === "prefixed") {
    const target = scratchTarget(request, family, "a scratch server");
    if (typeof target === "string") return fail(target);
    // Each database of the backup under this prefix, read back as if it were not there.
    const prefix = `backupy_verify_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}_`;
    target.connection!.database = "";
    const engine = await createEngine(
      target,
      { tempDir: request.tempDir },
      { ...urlExtras(request.scratch!), databasePrefix: prefix },
    );
    try {
      ({ restoredAt, size, found } = await restoreAndReread(engine, request));
    } finally {
      await engine.dropDatabase?.(prefix);
    }
  } else if (family?.scratchRestore === "server") {
    const target = scratchTarget(request, family, "an empty scratch server");
    if (typeof target === "string") return fail(target);
    // A URL that names a logical database (Redis) scratches that one alone.
    const database = target.connection!.database;
    if (database && manifest.objects.length > 1) {
      return fail(
        `the backup holds ${manifest.objects.length} logical databases (${
          manifest.objects.map((o) => o.name).join(", ")
        }) and the scratch URL names one: give an empty scratch server instead`,
      );
    }
    const engine = await createEngine(
      target,
      { tempDir: request.tempDir },
      urlExtras(request.scratch!),
    );
    // What is restored is emptied afterwards: it must have held nothing before.
    if (await engine.holdsData!()) {
      return fail(
        database
          ? `the scratch database ${database} holds data: name an empty one (it is emptied after the check)`
          : "the scratch server holds data: give an empty server, or name an empty database " +
            "of it in the URL (everything restored is removed after the check)",
      );
    }
    try {
      ({ restoredAt, size, found } = await restoreAndReread(engine, request, {
        intoNamedDatabase: Boolean(database),
      }));
      if (database) {
        // The server's snapshot holds its other databases too: only the scratch one counts,
        // under the name it had in the backup.
        const name = manifest.objects[0]?.name;
        found = found.filter((o) => o.name === `db${database}`).map((o) => ({ ...o, name }));
        size = undefined;
      }
    } finally {
      await engine.empty!();
    }
  } else {
    return fail(
      `the restore level supports ${
        ENGINES.filter((e) => e.scratchRestore).map((e) => e.title).join(", ")
      } backups in this build, not ${manifest.engine}`,
    );
  }
  const problems = compareObjects(manifest.objects, found);
  return problems.length ? fail(`restored, but: ${problems.join("; ")}`) : {
    name: "restore",
    ok: true,
    detail: `restored in ${seconds(restoredAt - started)} s${restoredSize(size)} and read back in ${
      seconds(performance.now() - restoredAt)
    } s: ${manifest.objects.length} objects equal the manifest's`,
  };
}

/** Milliseconds as seconds for a report: "12.3". */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** A restored copy's size for a report, in MiB as the progress lines count. */
export function restoredSize(bytes: number | undefined): string {
  return bytes === undefined ? "" : ` (${(bytes / (1024 * 1024)).toFixed(1)} MiB)`;
}
