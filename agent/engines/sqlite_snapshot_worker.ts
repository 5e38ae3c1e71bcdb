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
 * Message in: `{ source, target }`; out: `{ ok: true, pages }` or `{ ok: false, error }`.
 *
 * @module
 */
import { backup, DatabaseSync } from "node:sqlite";

interface Request {
  source: string;
  target: string;
}

const scope = self as unknown as {
  onmessage: (event: MessageEvent<Request>) => void;
  postMessage(message: unknown): void;
  close(): void;
};

scope.onmessage = async (event) => {
  const { source, target } = event.data;
  try {
    const db = new DatabaseSync(source, { readOnly: true });
    try {
      // Writers hold their lock only briefly; wait rather than fail at once.
      db.exec("PRAGMA busy_timeout = 30000");
      const pages = await backup(db, target, { rate: -1 } as Parameters<typeof backup>[2]);
      scope.postMessage({ ok: true, pages });
    } finally {
      db.close();
    }
  } catch (error) {
    scope.postMessage({ ok: false, error: (error as Error).message });
  }
  scope.close();
};
