/**
 * Finds SQLite databases inside a container's volumes and bind mounts
 * (docs/agent.md section 6): files named `*.db`, `*.sqlite` or `*.sqlite3` whose
 * first 16 bytes are `SQLite format 3\0`, in a bounded walk - depth 4 and
 * 10,000 directory entries per mount - so a huge volume cannot stall
 * discovery. Unreadable places are skipped silently.
 *
 * @module
 */
import { join } from "node:path";
import { SQLITE_MAGIC } from "./sqlite_format.ts";

/** Walk bounds, per mount. */
export const SQLITE_WALK = { maxDepth: 4, maxEntries: 10_000 } as const;

const NAME = /\.(db|sqlite|sqlite3)$/i;

async function startsLikeSqlite(path: string): Promise<boolean> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path, { read: true });
    const head = new Uint8Array(SQLITE_MAGIC.length);
    let filled = 0;
    while (filled < head.length) {
      const n = await file.read(head.subarray(filled));
      if (n === null) return false;
      filled += n;
    }
    return head.every((b, i) => b === SQLITE_MAGIC[i]);
  } catch {
    return false;
  } finally {
    file?.close();
  }
}

/**
 * SQLite files under `root` (a mount's source as this agent sees it), as
 * paths relative to `root`, sorted.
 */
export async function findSqliteFiles(
  root: string,
  bounds: { maxDepth: number; maxEntries: number } = SQLITE_WALK,
): Promise<string[]> {
  const found: string[] = [];
  let entries = 0;
  // Breadth first, so the entry budget goes to shallow places first.
  let level: string[] = [""];
  for (let depth = 0; depth <= bounds.maxDepth && level.length; depth++) {
    const next: string[] = [];
    for (const relative of level) {
      let listing: AsyncIterable<Deno.DirEntry>;
      try {
        listing = Deno.readDir(join(root, relative));
        for await (const entry of listing) {
          if (++entries > bounds.maxEntries) return found.sort();
          const child = relative ? `${relative}/${entry.name}` : entry.name;
          if (entry.isDirectory) next.push(child);
          else if (
            entry.isFile && NAME.test(entry.name) && await startsLikeSqlite(join(root, child))
          ) {
            found.push(child);
          }
        }
      } catch {
        // Unreadable or vanished: nothing to report from here.
      }
    }
    level = depth < bounds.maxDepth ? next : [];
  }
  return found.sort();
}

/**
 * SQLite files in a container's volumes and bind mounts (`source` as this
 * agent sees it), as paths inside the container, sorted.
 */
export async function sqliteFilesInMounts(
  mounts: readonly { source: string; destination: string }[],
): Promise<string[]> {
  const found: string[] = [];
  for (const mount of mounts) {
    for (const relative of await findSqliteFiles(mount.source)) {
      found.push(`${mount.destination.replace(/\/$/, "")}/${relative}`);
    }
  }
  return found.sort();
}
