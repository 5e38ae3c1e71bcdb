/**
 * `/metrics` (Prometheus text) and `/healthz` (200 while the service loop is
 * alive) on `BACKUPY_METRICS_LISTEN_ADDR`, loopback by default on purpose.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import type { AgentMetrics } from "./agent_metrics.ts";

/** Serves until `signal` aborts; resolves with the bound port. */
export function serveMetrics(
  listen: { hostname: string; port: number },
  metrics: AgentMetrics,
  alive: () => { ok: boolean; detail: Record<string, unknown> },
  log: Logger,
  signal: AbortSignal,
): Promise<{ port: number; finished: Promise<void> }> {
  return new Promise((resolve, reject) => {
    try {
      let bound = 0;
      const server = Deno.serve({
        hostname: listen.hostname,
        port: listen.port,
        signal,
        onListen: ({ port }) => bound = port,
        onError: (error) => {
          log.warn("metrics endpoint error", { error });
          return new Response("internal error", { status: 500 });
        },
      }, async (request) => {
        const path = new URL(request.url).pathname;
        if (path === "/metrics") {
          return new Response(await metrics.text(), {
            headers: { "content-type": metrics.registry.contentType },
          });
        }
        if (path === "/healthz") {
          const state = alive();
          return Response.json(state.detail, { status: state.ok ? 200 : 503 });
        }
        return new Response("not found", { status: 404 });
      });
      resolve({ port: bound || server.addr.port, finished: server.finished });
    } catch (error) {
      reject(error);
    }
  });
}
