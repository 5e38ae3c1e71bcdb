/**
 * Reads a small file the user names - a key file, a token file - including
 * pipes such as `<(pass show backup-key)`, refusing anything over 64 KiB
 * (a wrong path pointing at a backup must not be read into memory).
 *
 * @module
 */
import { BackupyError } from "./errors.ts";
import { fileSource } from "./file_source.ts";

/** Reads a key or token file (a pipe such as `<(pass show key)` too), at most 64 KiB. */
export async function readSmallFile(path: string, what: string): Promise<Uint8Array> {
  const limit = 64 * 1024;
  try {
    using file = await Deno.open(path, { read: true });
    if ((await file.stat()).isDirectory) throw new BackupyError(`${what} ${path} is a directory`);
    const content = await new Response(fileSource(file, limit + 1)).bytes();
    if (content.length > limit) {
      throw new BackupyError(`${what} ${path} is too large to be a ${what}`);
    }
    return content;
  } catch (error) {
    if (error instanceof BackupyError) throw error;
    throw new BackupyError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}
