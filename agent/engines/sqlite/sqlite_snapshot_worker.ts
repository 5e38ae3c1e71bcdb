/**
 * Copies a SQLite database with SQLite's online backup API in a worker, so
 * a large database never freezes the agent's event loop (heartbeats, other
 * runs).
 *
 * Why the backup API and not `VACUUM INTO`: Deno's `node:sqlite` disables
 * ATTACH - which VACUUM INTO uses - unless the process has every
 * permission, and the agent runs with narrow ones. With `rate: -1` the
 * backup copies every page in one step inside one read transaction: a
 * consistent snapshot even while another connection writes.
 *
 * Then, while the main thread streams the copy, the worker reads every
 * table of the copy for the manifest (row counts and digests): the copy,
 * not the live database, so nothing is read twice from the source.
 *
 * Message in: `{ source, target, digests }`; out: `{ ok: true, pages }` or
 * `{ ok: false, error }`, then (when asked) `{ digests }` or
 * `{ digestError }`.
 *
 * @module
 */
import { backup, DatabaseSync } from "node:sqlite";
import { sqliteTableDigests } from "./sqlite_table_digests.ts";

interface Request {
  source: string;
  target: string;
  digests?: boolean;
}

const scope = self as unknown as {
  onmessage: (event: MessageEvent<Request>) => void;
  postMessage(message: unknown): void;
  close(): void;
};

scope.onmessage = async (event) => {
  const { source, target, digests } = event.data;
  let copy: DatabaseSync | undefined;
  try {
    const db = new DatabaseSync(source, { readOnly: true });
    try {
      // Writers hold their lock only briefly; wait rather than fail at once.
      db.exec("PRAGMA busy_timeout = 30000");
      const pages = await backup(db, target, { rate: -1 } as Parameters<typeof backup>[2]);
      // Opened (and its first page read) before the main thread may stream
      // and remove the file: the open descriptor keeps it readable.
      if (digests) {
        copy = new DatabaseSync(target, { readOnly: true });
        copy.prepare("SELECT count(*) FROM sqlite_schema").get();
      }
      scope.postMessage({ ok: true, pages });
    } finally {
      db.close();
    }
  } catch (error) {
    copy?.close();
    scope.postMessage({ ok: false, error: (error as Error).message });
    scope.close();
    return;
  }
  if (copy) {
    try {
      scope.postMessage({ digests: sqliteTableDigests(copy) });
    } catch (error) {
      scope.postMessage({ digestError: (error as Error).message });
    } finally {
      copy.close();
    }
  }
  scope.close();
};
