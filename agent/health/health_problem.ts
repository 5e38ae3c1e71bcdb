/**
 * `backupy-agent health-check` (the image's HEALTHCHECK): healthy when the
 * agent using this state directory answers on its local health endpoint
 * and its last heartbeat is recent.
 *
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { STATE_FILE } from "../state/state_store.ts";
import { HEALTH_META } from "../state/health_meta.ts";

/** A heartbeat older than this means the control connection is not working. */
const MIN_STALE_MS = 180_000;

/**
 * null when healthy, else why not. `heartbeatAfter` also asks for a
 * heartbeat newer than that time (a freshly started agent, after an update).
 */
export async function healthProblem(
  stateDir: string,
  now = Date.now(),
  heartbeatAfter = 0,
): Promise<string | null> {
  let meta: Map<string, string>;
  try {
    const db = new DatabaseSync(join(stateDir, STATE_FILE), { readOnly: true });
    try {
      const rows = db.prepare("SELECT key, value FROM meta").all() as {
        key: string;
        value: string;
      }[];
      meta = new Map(rows.map((row) => [row.key, row.value]));
    } finally {
      db.close();
    }
  } catch (error) {
    return `no agent state in ${stateDir}: ${(error as Error).message}`;
  }
  const listen = meta.get(HEALTH_META.listen);
  if (listen) {
    try {
      const response = await fetch(`http://${listen}/healthz`, {
        signal: AbortSignal.timeout(5000),
      });
      await response.body?.cancel();
      if (response.status !== 200) return `health endpoint answered ${response.status}`;
    } catch (error) {
      return `health endpoint ${listen} does not answer: ${(error as Error).message}`;
    }
  }
  const last = Number(meta.get(HEALTH_META.lastHeartbeatMs) ?? 0);
  if (last === 0 || last <= heartbeatAfter) return "the agent has not sent a heartbeat yet";
  const interval = Number(meta.get(HEALTH_META.heartbeatSec) ?? 30) * 1000;
  const age = now - last;
  if (age > Math.max(3 * interval, MIN_STALE_MS)) {
    return `last heartbeat ${Math.round(age / 1000)} s ago`;
  }
  return null;
}
