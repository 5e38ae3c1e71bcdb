/**
 * Runs `VACUUM INTO` in a worker: it is synchronous in `node:sqlite` and a
 * large database would otherwise freeze the agent's event loop (heartbeats,
 * other runs) for its whole duration.
 *
 * Message in: `{ source, target }`; out: `{ ok: true }` or `{ ok: false, error }`.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";

interface Request {
  source: string;
  target: string;
}

const scope = self as unknown as {
  onmessage: (event: MessageEvent<Request>) => void;
  postMessage(message: unknown): void;
  close(): void;
};

scope.onmessage = (event) => {
  const { source, target } = event.data;
  try {
    const db = new DatabaseSync(source, { readOnly: true });
    try {
      // Writers hold their lock only briefly; wait rather than fail at once.
      db.exec("PRAGMA busy_timeout = 30000");
      // One read transaction: a consistent snapshot even while another
      // connection writes (WAL) - never half a transaction.
      db.prepare("VACUUM INTO ?").run(target);
    } finally {
      db.close();
    }
    scope.postMessage({ ok: true });
  } catch (error) {
    scope.postMessage({ ok: false, error: (error as Error).message });
  }
  scope.close();
};
