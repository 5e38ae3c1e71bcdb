/**
 * Writes a result so that the target path only ever holds a complete,
 * verified file: data goes to a temporary file (mode 0600) beside the
 * target, and only {@linkcode SafeOutputFile.commit} - called after every
 * check passed - fsyncs it and renames it over the target. Disposing an
 * uncommitted file removes the temporary file; an existing target is never
 * touched on failure.
 *
 * A target that exists and is not a regular file - `/dev/null`, a named
 * pipe, a terminal - is written directly: renaming over it would replace the
 * device with a file (as root, `/dev/null` itself), and a pipe's reader
 * could never see the data.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { fileSink } from "./file_sink.ts";

/**
 * A temporary file that becomes `target` on commit.
 *
 * @example
 * ```ts
 * import { SafeOutputFile } from "./safe_output_file.ts";
 * const dir = await Deno.makeTempDir();
 * {
 *   await using out = await SafeOutputFile.create(`${dir}/result.bin`);
 *   await ReadableStream.from([new Uint8Array([1, 2])]).pipeTo(out.writable, { preventClose: true });
 *   await out.commit();
 * }
 * console.assert((await Deno.readFile(`${dir}/result.bin`)).length === 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SafeOutputFile implements AsyncDisposable {
  readonly #file: Deno.FsFile;
  /** null: writing straight to a special file (a device or a pipe). */
  readonly #tempPath: string | null;
  readonly #target: string;
  readonly #writable: WritableStream<Uint8Array>;
  #done = false;

  private constructor(file: Deno.FsFile, tempPath: string | null, target: string) {
    this.#file = file;
    this.#tempPath = tempPath;
    this.#target = target;
    this.#writable = fileSink(file);
  }

  /** Writes `bytes` to `target` the same safe way: all of it, or nothing. */
  static async writeAll(target: string, bytes: Uint8Array): Promise<void> {
    await using output = await SafeOutputFile.create(target);
    const writer = output.writable.getWriter();
    await writer.write(bytes);
    writer.releaseLock();
    await output.commit();
  }

  /** Creates the temporary file in `target`'s directory. */
  static async create(target: string): Promise<SafeOutputFile> {
    const existing = await Deno.stat(target).catch(() => null);
    if (existing && !existing.isFile && !existing.isDirectory) {
      return new SafeOutputFile(await Deno.open(target, { write: true }), null, target);
    }
    const dir = dirname(target);
    for (let attempt = 0;; attempt++) {
      const suffix = crypto.getRandomValues(new Uint8Array(6)).toHex();
      const tempPath = join(dir, `.${basename(target)}.${suffix}.partial`);
      try {
        const file = await Deno.open(tempPath, { write: true, createNew: true, mode: 0o600 });
        return new SafeOutputFile(file, tempPath, target);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists) || attempt > 5) throw error;
      }
    }
  }

  /** The path being written: the temporary file, or the special file itself. */
  get tempPath(): string {
    return this.#tempPath ?? this.#target;
  }

  /** Where the data goes; then {@linkcode SafeOutputFile.commit}. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable;
  }

  /** fsyncs the data, renames it over the target and fsyncs the directory. */
  async commit(): Promise<void> {
    if (this.#tempPath === null) {
      this.#file.close();
      this.#done = true;
      return;
    }
    await this.#file.sync();
    this.#file.close();
    this.#done = true;
    try {
      await Deno.rename(this.#tempPath, this.#target);
    } catch (error) {
      await Deno.remove(this.#tempPath).catch(() => {});
      throw error;
    }
    await syncDirectory(dirname(this.#target));
  }

  /** Removes the temporary file unless committed. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#file.close();
    if (this.#tempPath !== null) await Deno.remove(this.#tempPath).catch(() => {});
  }
}

/** Makes a rename durable: the directory entry itself must reach the disk. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    using handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the data itself is synced.
  }
}
