/**
 * Sends a run's WARN and ERROR log lines to the server as LogEvents
 * (docs/wire-protocol.md section 6), rate-limited per job so a noisy failure
 * cannot flood the outbox. An INFO line goes too when it carries
 * `forward: true` (a verification that passed is news for the server).
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { LogLevel } from "@backupy/gen/backup/v1/common_pb.ts";
import { LogEventSchema } from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
import type { LogEntry, Logger } from "../log/logger.ts";
import type { Outbox } from "../state/outbox.ts";

/** Lines per job per window. */
const BURST = 20;
const WINDOW_MS = 60_000;

/** Subscribes to `log`; returns the unsubscribe. */
export function forwardRunLogs(
  log: Logger,
  outbox: Outbox,
  now: () => number = Date.now,
): () => void {
  const windows = new Map<string, { start: number; count: number }>();
  return log.subscribe((entry: LogEntry) => {
    const forward = entry.level === "warn" || entry.level === "error" ||
      (entry.level === "info" && entry.fields.forward === true);
    if (!forward) return;
    const jobId = entry.fields.job_id;
    if (typeof jobId !== "string" || jobId === "") return;
    const t = now();
    const window = windows.get(jobId);
    if (!window || t - window.start >= WINDOW_MS) windows.set(jobId, { start: t, count: 1 });
    else if (++window.count > BURST) return;
    const fields: Record<string, string> = { component: entry.component };
    for (const [key, value] of Object.entries(entry.fields)) {
      if (key === "job_id" || key === "forward") continue;
      fields[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    outbox.enqueue({
      case: "log",
      value: create(LogEventSchema, {
        tsMs: BigInt(entry.ts),
        level: entry.level === "info"
          ? LogLevel.INFO
          : entry.level === "warn"
          ? LogLevel.WARN
          : LogLevel.ERROR,
        jobId,
        message: entry.msg,
        fields,
      }),
    });
  });
}
