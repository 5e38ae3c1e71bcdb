/**
 * SQLite, natively with `node:sqlite` (docs/agent.md section 5): an online,
 * consistent copy with SQLite's backup API into a temporary file - taken in
 * one read transaction, so a writer on another connection never yields half
 * a transaction - then streamed. The backup is the database file itself: the
 * decrypted output opens as a `.db` file.
 *
 * @module
 */
import "./engine_names.ts";
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { fileSource } from "../../../decrypt/file_source.ts";
import { SafeOutputFile } from "../../../decrypt/safe_output_file.ts";
import { checkedDump, type CompletenessCheck } from "../shared/checked_dump.ts";
import { HeaderCheckStream } from "../shared/header_check_stream.ts";
import type { ManifestObject } from "../../manifest/backup_manifest.ts";
import {
  DumpError,
  type DumpOptions,
  type DumpStream,
  type Engine,
  type RestoreResult,
} from "../shared/engine.ts";
import { SQLITE_FORMAT } from "./sqlite_format.ts";

/** The size a complete database file must have, from its header (page size x page count). */
export function sqliteFileSize(header: Uint8Array): number {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const raw = view.getUint16(16);
  const pageSize = raw === 1 ? 65536 : raw;
  return pageSize * view.getUint32(28);
}

/** A SQLite database file the agent can read. */
export class SqliteEngine implements Engine {
  readonly name = "sqlite" as const;
  readonly format = SQLITE_FORMAT;
  readonly #path: string;
  readonly #tempDir: string;

  /** `path` is the absolute path of the database; snapshots go to `tempDir`. */
  constructor(path: string, tempDir: string) {
    if (!path.startsWith("/")) {
      throw new DumpError(
        `SQLite target needs the absolute path of the database file, got ${JSON.stringify(path)}`,
      );
    }
    this.#path = path;
    this.#tempDir = tempDir;
  }

  #checkReadable(): void {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(this.#path);
    } catch (error) {
      throw new DumpError(
        `cannot read the SQLite database ${this.#path}: ${(error as Error).message}`,
      );
    }
    if (!info.isFile) throw new DumpError(`${this.#path} is not a file`);
  }

  /** `SQLite x.y.z`: the library that reads the file (there is no server). */
  version(): Promise<string> {
    this.#checkReadable();
    const db = new DatabaseSync(":memory:");
    try {
      const row = db.prepare("SELECT sqlite_version() AS v").get() as { v: string };
      return Promise.resolve(`SQLite ${row.v}`);
    } finally {
      db.close();
    }
  }

  /** The database file's size. */
  estimateSize(): Promise<number> {
    this.#checkReadable();
    return Promise.resolve(Deno.statSync(this.#path).size);
  }

  /** Snapshots with the backup API in a worker, then streams the copy and removes it. */
  async dump(signal: AbortSignal, options: DumpOptions = {}): Promise<DumpStream> {
    this.#checkReadable();
    await Deno.mkdir(this.#tempDir, { recursive: true, mode: 0o700 });
    const snapshot = join(this.#tempDir, `sqlite-${crypto.randomUUID()}.db`);
    try {
      const { digests } = await snapshotInWorker(
        this.#path,
        snapshot,
        signal,
        options.manifest === true,
      );
      const file = await Deno.open(snapshot, { read: true });
      const size = (await file.stat()).size;
      const cleanup = () => Deno.remove(snapshot).catch(() => {});
      // 256 KiB reads: every stage downstream queues a chunk, so smaller ones
      // keep a long backup's working set small (zstd shrinks them anyway).
      const dump = checkedDump(fileSource(file, 256 * 1024), new SqliteFileCheck(size), {
        cleanup,
        cancelled: "the SQLite dump was cancelled",
      });
      signal.addEventListener("abort", () => void cleanup(), { once: true });
      // Reading a WAL-mode copy makes -wal and -shm files beside it: removed
      // once the worker is done with it, before the dump counts as finished.
      const workerDone = digests.then(() => {}, () => {}).then(() =>
        Promise.all(
          ["-wal", "-shm"].map((suffix) => Deno.remove(snapshot + suffix).catch(() => {})),
        )
      );
      const finished = dump.finished.finally(() => workerDone);
      finished.catch(() => {});
      const manifest = finished.then(async () => ({ objects: await digests }));
      manifest.catch(() => {});
      return { ...dump, finished, manifest };
    } catch (error) {
      await Deno.remove(snapshot).catch(() => {});
      throw error;
    }
  }

  /**
   * Writes a backed-up database file to the target path, which must not
   * exist: restoring never overwrites a database. The file appears only
   * after it passed `PRAGMA integrity_check`.
   */
  async restore(source: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<RestoreResult> {
    try {
      Deno.statSync(this.#path);
      throw new DumpError(
        `${this.#path} exists: restore into a new path (it never overwrites a database)`,
      );
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    await using output = await SafeOutputFile.create(this.#path);
    let bytes = 0;
    await source
      .pipeThrough(new HeaderCheckStream(SQLITE_FORMAT))
      .pipeThrough(
        new TransformStream({
          transform(chunk, controller) {
            bytes += chunk.length;
            controller.enqueue(chunk);
          },
        }),
      )
      .pipeTo(output.writable, { signal });
    const db = new DatabaseSync(output.tempPath, { readOnly: true });
    try {
      const row = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
      if (row.integrity_check !== "ok") {
        throw new DumpError(`the restored database fails integrity_check: ${row.integrity_check}`);
      }
    } finally {
      db.close();
    }
    await output.commit();
    return { units: bytes, unit: "bytes" };
  }
}

/**
 * A complete database file: as many bytes as the snapshot file has, and
 * exactly page size x page count by its own header.
 */
export class SqliteFileCheck implements CompletenessCheck {
  #header = new Uint8Array(0);
  #streamed = 0;
  /** `size`: the snapshot file's size. */
  constructor(readonly size: number) {}

  update(chunk: Uint8Array): void {
    if (this.#header.length < 100) {
      this.#header = concatBytes([this.#header, chunk]).slice(0, 100);
    }
    this.#streamed += chunk.length;
  }

  problem(): string | null {
    const expected = this.#header.length === 100 ? sqliteFileSize(this.#header) : -1;
    if (this.#streamed === this.size && (expected <= 0 || expected === this.#streamed)) return null;
    return `SQLite snapshot is truncated: ${this.#streamed} of ${this.size} bytes`;
  }
}

/**
 * The backup API in a worker; a cancelled run terminates it. Resolves once
 * the copy is made; the worker then reads the copy's tables and `digests`
 * settles with them (restore verification's manifest).
 */
function snapshotInWorker(
  source: string,
  target: string,
  signal: AbortSignal,
  wantDigests: boolean,
): Promise<{ digests: Promise<ManifestObject[]> }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./sqlite_snapshot_worker.ts", import.meta.url), {
      type: "module",
    });
    let settleDigests: { resolve(d: ManifestObject[]): void; reject(e: Error): void } | null = null;
    const digests = new Promise<ManifestObject[]>((resolve, reject) => {
      settleDigests = { resolve, reject };
    });
    digests.catch(() => {});
    let copied = false;
    const stop = (error: Error) => {
      signal.removeEventListener("abort", onAbort);
      worker.terminate();
      if (copied) settleDigests!.reject(error);
      else reject(error);
    };
    const onAbort = () => stop(new DumpError("the SQLite snapshot was cancelled"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    worker.onmessage = (
      event: MessageEvent<
        { ok?: boolean; error?: string; digests?: ManifestObject[]; digestError?: string }
      >,
    ) => {
      const data = event.data;
      if (data.ok === false) {
        return stop(new DumpError(`SQLite snapshot of ${source} failed: ${data.error}`));
      }
      if (data.ok === true) {
        copied = true;
        resolve({ digests });
        if (!wantDigests) {
          signal.removeEventListener("abort", onAbort);
          worker.terminate();
          settleDigests!.reject(new DumpError("no manifest was asked for"));
        }
        return;
      }
      signal.removeEventListener("abort", onAbort);
      worker.terminate();
      if (data.digests) settleDigests!.resolve(data.digests);
      else {settleDigests!.reject(
          new DumpError(`reading the SQLite copy's tables failed: ${data.digestError}`),
        );}
    };
    worker.onerror = (event) => {
      event.preventDefault();
      stop(new DumpError(`SQLite snapshot of ${source} failed: ${event.message}`));
    };
    worker.postMessage({ source, target, digests: wantDigests });
  });
}
