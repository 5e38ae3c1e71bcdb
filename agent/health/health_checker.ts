/**
 * Health checks from the applied config (docs/agent.md section 8): HTTP/HTTPS
 * GET whose status must equal `expected_status` (default 200, redirects not
 * followed) and TCP connect-then-close, each on its `interval_sec` (default
 * 60) with `timeout_sec` (default 10). Every result goes to the server as a
 * HealthCheckResult. Checks are rescheduled when the config changes.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { CheckType } from "@backupy/gen/backup/v1/common_pb.ts";
import { HealthCheckResultSchema } from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
import type { HealthCheckSpec } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import type { Logger } from "../log/logger.ts";
import { redactText } from "../log/redact.ts";
import type { AgentMetrics } from "../metrics/agent_metrics.ts";
import type { Outbox } from "../state/outbox.ts";

/** One check's outcome. */
export interface CheckOutcome {
  ok: boolean;
  latencyMs: number;
  statusCode: number;
  error: string;
}

/** Runs one check once. */
export async function runCheck(spec: HealthCheckSpec): Promise<CheckOutcome> {
  const timeoutMs = (spec.timeoutSec > 0 ? spec.timeoutSec : 10) * 1000;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    if (spec.type === CheckType.TCP_CHECK) {
      const { hostname, port } = parseHostPort(spec.target);
      const connecting = Deno.connect({ hostname, port, signal } as Deno.ConnectOptions);
      const connection = await connecting;
      connection.close();
      return { ok: true, latencyMs: elapsed(), statusCode: 0, error: "" };
    }
    const response = await fetch(spec.target, { method: "GET", redirect: "manual", signal });
    await response.body?.cancel();
    const expected = spec.expectedStatus > 0 ? spec.expectedStatus : 200;
    const ok = response.status === expected;
    return {
      ok,
      latencyMs: elapsed(),
      statusCode: response.status,
      error: ok ? "" : `status ${response.status}, expected ${expected}`,
    };
  } catch (error) {
    const message = signal.aborted
      ? `no answer within ${timeoutMs / 1000} s`
      : redactText((error as Error).message ?? String(error));
    return { ok: false, latencyMs: elapsed(), statusCode: 0, error: message };
  }
}

function parseHostPort(target: string): { hostname: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target.replace(/^tcp:\/\//, ""));
  if (!match) throw new Error(`TCP check target must be host:port, got ${JSON.stringify(target)}`);
  return { hostname: match[1], port: Number(match[2]) };
}

/** Schedules every configured check and reports results. */
export class HealthChecker {
  readonly #outbox: Outbox;
  readonly #log: Logger;
  readonly #metrics?: AgentMetrics;
  #timers = new Map<string, ReturnType<typeof setInterval>>();
  #specs = new Map<string, HealthCheckSpec>();

  /** Results go to `outbox`. */
  constructor(outbox: Outbox, log: Logger, metrics?: AgentMetrics) {
    this.#outbox = outbox;
    this.#log = log;
    this.#metrics = metrics;
  }

  /** Replaces the schedule with `specs`. */
  schedule(specs: HealthCheckSpec[]): void {
    this.stop();
    for (const spec of specs) {
      this.#specs.set(spec.id, spec);
      const interval = (spec.intervalSec > 0 ? spec.intervalSec : 60) * 1000;
      this.#timers.set(spec.id, setInterval(() => void this.runNow(spec.id), interval));
    }
  }

  /** Runs check `checkId` now and reports it; false when no such check exists. */
  runNow(checkId: string): Promise<boolean> {
    const spec = this.#specs.get(checkId);
    if (!spec) return Promise.resolve(false);
    return runCheck(spec).then((outcome) => {
      this.#metrics?.healthCheck(spec.id, outcome.ok, outcome.latencyMs / 1000);
      this.#outbox.enqueue({
        case: "healthResult",
        value: create(HealthCheckResultSchema, {
          checkId: spec.id,
          tsMs: BigInt(Date.now()),
          ok: outcome.ok,
          latencyMs: outcome.latencyMs,
          error: outcome.error,
          statusCode: outcome.statusCode,
        }),
      });
      if (!outcome.ok) {
        this.#log.debug("health check failed", { check_id: spec.id, error: outcome.error });
      }
      return true;
    });
  }

  /** Whether `checkId` is configured. */
  has(checkId: string): boolean {
    return this.#specs.has(checkId);
  }

  /** Stops all timers. */
  stop(): void {
    for (const timer of this.#timers.values()) clearInterval(timer);
    this.#timers.clear();
    this.#specs.clear();
  }
}
